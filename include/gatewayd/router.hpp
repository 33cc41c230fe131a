#pragma once
// Route matching over a compiled route table.
// Precedence (deterministic, documented in docs/ARCHITECTURE.md):
//   exact > longest literal prefix > templates with params > wildcard, then higher priority,
//   then file order. Host-specific routes win over host-less ones of the same rank.
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
  kNotOrigin,       // not an origin-form target ("/...")
  kEncodedSlash,    // %2F or %5C in the path
  kBackslash,       // a literal '\'
  kNul,             // a NUL byte or %00
  kBadEncoding,     // malformed percent-encoding or control characters
  kEscapesRoot,     // dot segments climbing above "/"
};

struct NormalizedTarget {
  std::string path;        // normalised path the router matches and the upstream receives
  std::string_view query;  // the raw query (without '?'), a view into the original target
  bool has_query = false;
  bool changed = false;    // the path differs from the one the client sent
};

// Normalises an origin-form request target: resolves "." and "..", merges nothing else,
// decodes percent-encoded unreserved characters, upper-cases remaining escapes. The query
// string is kept byte for byte.
PathError normalize_target(std::string_view target, NormalizedTarget& out);

// Builds the path sent upstream for a matched route (strip_prefix / rewrite_path with {param}).
std::string upstream_path(const RouteConfig& route, const RouteMatch& match, std::string_view path);

}  // namespace gatewayd
