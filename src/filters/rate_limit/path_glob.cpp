#include "filters/rate_limit/path_glob.hpp"

namespace gatewayd::ratelimit {

std::optional<PathGlob> PathGlob::compile(std::string_view pattern) {
  PathGlob g;
  g.pattern_ = std::string(pattern);
  if (pattern.empty() || pattern == "*" || pattern == "**" || pattern == "/**" || pattern == "/*") {
    return g;
  }
  if (pattern.front() != '/' || pattern.size() > kMaxPatternLength) return std::nullopt;
  g.all_ = false;
  // A trailing "/*" means a prefix, like in routes.yaml: treat it as "/**".
  std::string p(pattern);
  if (p.size() >= 2 && p.ends_with("/*") && !p.ends_with("**")) p += '*';
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        while (i + 1 < p.size() && p[i + 1] == '*') ++i;
        g.tokens_.push_back({Kind::kAny, 0, false});
      } else {
        g.tokens_.push_back({Kind::kStar, 0, false});
      }
    } else {
      g.tokens_.push_back({Kind::kChar, p[i], false});
    }
  }
  const std::size_t n = g.tokens_.size();
  if (n >= 2 && g.tokens_[n - 1].kind == Kind::kAny && g.tokens_[n - 2].kind == Kind::kChar &&
      g.tokens_[n - 2].ch == '/') {
    g.tokens_[n - 2].optional = true;
  }
  for (const Token& t : g.tokens_) {
    if (t.kind != Kind::kChar || t.optional) break;
    g.prefix_ += t.ch;
  }
  return g;
}

bool PathGlob::matches(std::string_view path) const {
  if (all_) return true;
  // Most patterns start with a literal part ("/api/v1/"): a cheap rejection first.
  if (path.substr(0, prefix_.size()) != prefix_) return false;
  // NFA simulation: active[i] means "pattern consumed up to token i".
  const std::size_t n = tokens_.size();
  std::vector<char> active(n + 1, 0), next(n + 1, 0);
  auto close = [&](std::vector<char>& set) {
    // Wildcards can match nothing.
    for (std::size_t i = 0; i < n; ++i) {
      if (set[i] != 0 && tokens_[i].kind != Kind::kChar) set[i + 1] = 1;
    }
  };
  active[0] = 1;
  close(active);
  for (const char c : path) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (active[i] == 0) continue;
      const Token& t = tokens_[i];
      switch (t.kind) {
        case Kind::kChar:
          if (t.ch == c) {
            next[i + 1] = 1;
            any = true;
          }
          break;
        case Kind::kStar:
          if (c != '/') {
            next[i] = 1;
            any = true;
          }
          break;
        case Kind::kAny:
          next[i] = 1;
          any = true;
          break;
      }
    }
    if (!any) return false;
    close(next);
    active.swap(next);
  }
  // "/api/**" also matches "/api": the slash and the wildcard may both be absent at the end.
  if (n >= 2 && tokens_[n - 2].optional && active[n - 2] != 0) return true;
  return active[n] != 0;
}

}  // namespace gatewayd::ratelimit
