#pragma once
// Route matching over a compiled route table.
// Precedence (deterministic, documented in docs/CONFIGURATION.md):
//   exact > longest literal prefix > templates with params > wildcard, then higher priority,
//   then file order. Host-specific routes win over host-less ones of the same rank.
//
// Exactly, among the enabled routes whose host and path match, the first by:
//   1. an exact route (only literal segments, no wildcard) before any other kind;
//   2. more leading literal segments first ("/a/b/**" before "/a/{x}/c" for "/a/b/c");
//   3. with equal literal prefixes, a template whose other segments are all {param} before
//      one with a wildcard ("*" inside, or a trailing "/*", "/**", match: prefix);
//   4. exact `host`, then "*.domain" (longer suffix first), then no host;
//   5. higher `priority`;
//   6. earlier in the file.
// A route whose methods exclude the request's is skipped for the next one; when every
// path-matching route is skipped the result is kMethodNotAllowed with `allow` listing the union
// of their methods (HEAD implied by GET, OPTIONS not special).
//
// Path syntax: "/a/b" exact; "/a/*" and "/a/**" (or "/a" with match: prefix) match "/a" and
// anything under "/a/" but never "/aX"; "{name}" is one non-empty segment; "*" inside a pattern
// is one non-empty segment. Empty segments are never merged ("/a//b" is not "/a/b").
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatewayd/config.hpp"

namespace gatewayd {

enum class MatchStatus : std::uint8_t { kMatched, kNotFound, kMethodNotAllowed };

struct RouteMatch {
  MatchStatus status = MatchStatus::kNotFound;
  const RouteConfig* route = nullptr;  // points into the Config the router was built from
  std::uint32_t route_index = 0;       // index into Config::routes
  std::string allow;                   // for 405: "GET, HEAD, POST"
  // {param} captures as views into the matched path.
  std::vector<std::pair<std::string_view, std::string_view>> params;
};

class Router {
 public:
  // `routes` must outlive the router (both live in one Config). Disabled routes are skipped.
  explicit Router(const std::vector<RouteConfig>& routes);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // `path` is the normalised path (see normalize_path); `method` upper-case; `host` without port.
  RouteMatch match(std::string_view host, std::string_view path, std::string_view method) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class PathError : std::uint8_t {
  kNone,
  kNotOrigin,     // not an origin-form target ("/...")
  kEncodedSlash,  // %2F or %5C in the path
  kBackslash,     // a literal '\'
  kNul,           // a NUL byte or %00
  kBadEncoding,   // malformed percent-encoding or control characters
  kEscapesRoot,   // dot segments climbing above "/"
};

struct NormalizedTarget {
  std::string path;        // normalised path the router matches and the upstream receives
  std::string_view query;  // the raw query (without '?'), a view into the original target
  bool has_query = false;
  bool changed = false;  // the path differs from the one the client sent
};

// Normalises an origin-form request target: decodes percent-encoded unreserved characters
// (A-Z a-z 0-9 - . _ ~), upper-cases the hex of remaining escapes, then resolves "." and ".."
// (so "%2e%2e" counts as ".."). Nothing else changes: "//" stays. Rejected: a target not
// starting with '/', %2F/%5C, a literal '\', NUL or %00, other raw or encoded control
// characters, '#', malformed escapes, and ".." above the root. The query string is kept byte
// for byte. A path without '%' and dot segments costs one scan and one copy.
PathError normalize_target(std::string_view target, NormalizedTarget& out);

// Builds the path sent upstream for a matched route: rewrite_path with {param} substituted, or
// with strip_prefix the path minus the pattern's leading literal segments ("/demo/**" sends
// "/demo/hello" as "/hello" and "/demo" as "/"), or `path` unchanged. The caller appends the
// query.
std::string upstream_path(const RouteConfig& route, const RouteMatch& match, std::string_view path);

}  // namespace gatewayd
