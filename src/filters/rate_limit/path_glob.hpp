#pragma once
// Path patterns of rate-limit rules. Same spirit as routes.yaml prefixes:
//   "*"  inside a pattern matches within one segment ("/api/v*/users", "/users/*/posts");
//   "**" matches any number of characters across segments;
//   a trailing "/*" or "/**" is a prefix at a segment boundary: "/api/**" and "/api/*" match
//   "/api", "/api/" and everything below it;
//   an empty pattern, "*" or "**" matches every path.
// Matching is linear in path length times pattern length (no backtracking blow-up on
// client-chosen paths).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatewayd::ratelimit {

class PathGlob {
 public:
  static constexpr std::size_t kMaxPatternLength = 512;

  PathGlob() = default;  // matches everything
  // nullopt when the pattern does not start with '/' (and is not a match-all) or is too long.
  static std::optional<PathGlob> compile(std::string_view pattern);

  bool matches(std::string_view path) const;
  const std::string& pattern() const noexcept { return pattern_; }
  bool matches_all() const noexcept { return all_; }

 private:
  enum class Kind : std::uint8_t { kChar, kStar, kAny };
  struct Token {
    Kind kind;
    char ch;
    bool optional;  // the '/' before a trailing "**": "/api/**" also matches "/api"
  };

  std::string pattern_;
  std::vector<Token> tokens_;
  std::string prefix_;  // literal characters before the first wildcard
  bool all_ = true;
};

}  // namespace gatewayd::ratelimit
