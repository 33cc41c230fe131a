#pragma once
// Route path patterns, parsed once by the config validator and the router.
//   /a/b            exact
//   /a/* or /a/**   prefix on a segment boundary (also: a literal path with `match: prefix`)
//   /u/{id}         one-segment template parameter
//   /f/*/meta       `*` inside a pattern: exactly one segment
//   /u/{id}/**      template followed by any rest
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatewayd/config.hpp"

namespace gatewayd::routing {

inline constexpr std::size_t kMaxParams = 16;
inline constexpr std::size_t kMaxSegments = 64;

enum class SegmentKind : std::uint8_t { kLiteral, kParam, kStar };

struct PatternSegment {
  SegmentKind kind = SegmentKind::kLiteral;
  std::string text;  // literal (normalised like request paths) or parameter name
};

struct RoutePattern {
  std::vector<PatternSegment> segments;  // without the trailing wildcard
  bool tail = false;                     // any rest after `segments`, on a segment boundary
  std::size_t literal_prefix = 0;        // leading literal segments
  std::size_t params = 0;
  bool has_star = false;
  MatchKind kind = MatchKind::kExact;

  // Literal segments joined: "/a/b" (exact routes: the whole path).
  std::string literal_path() const;
  // Identifies patterns that match the same paths: parameter names erased ("/a/{}/*/**").
  std::string shape() const;
  bool has_param(std::string_view name) const;
};

// `prefix` is `match: prefix`. Returns nullopt and sets `error` for an invalid pattern.
std::optional<RoutePattern> parse_route_pattern(std::string_view path, bool prefix,
                                                std::string& error);

// Checks a rewrite_path template against the pattern: absolute path, known {param}s only.
// Returns an error text, empty when valid.
std::string check_rewrite(std::string_view rewrite, const RoutePattern& pattern);

// Number of leading literal segments of `path` as written (no validation); used by
// upstream_path for strip_prefix.
std::size_t literal_prefix_segments(std::string_view path);

}  // namespace gatewayd::routing
