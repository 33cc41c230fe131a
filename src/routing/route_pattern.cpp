#include "routing/route_pattern.hpp"

#include "gatewayd/router.hpp"

namespace gatewayd::routing {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}

bool valid_param_name(std::string_view n) {
  if (n.empty() || n.size() > 64 || !is_ident_start(n.front())) return false;
  for (char c : n) {
    if (!is_ident(c)) return false;
  }
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string RoutePattern::literal_path() const {
  std::string out;
  for (const auto& s : segments) {
    out += '/';
    out += s.text;
  }
  return out.empty() ? std::string("/") : out;
}

std::string RoutePattern::shape() const {
  std::string out;
  for (const auto& s : segments) {
    out += '/';
    switch (s.kind) {
      case SegmentKind::kLiteral:
        out += s.text;
        break;
      case SegmentKind::kParam:
        out += "{}";
        break;
      case SegmentKind::kStar:
        out += "*";
        break;
    }
  }
  if (tail) out += "/**";
  return out.empty() ? std::string("/") : out;
}

bool RoutePattern::has_param(std::string_view name) const {
  for (const auto& s : segments) {
    if (s.kind == SegmentKind::kParam && s.text == name) return true;
  }
  return false;
}

std::optional<RoutePattern> parse_route_pattern(std::string_view path, bool prefix,
                                                std::string& error) {
  RoutePattern p;
  if (path.empty() || path.front() != '/') {
    error = "must start with '/'";
    return std::nullopt;
  }
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '?' || c == '#' || c == '\\') {
      error = "must not contain spaces, control characters, '?', '#' or '\\'";
      return std::nullopt;
    }
  }
  std::string_view body = path;
  if (body == "/*" || body == "/**") {
    p.tail = true;
    body = {};
  } else if (ends_with(body, "/**")) {
    p.tail = true;
    body.remove_suffix(3);
  } else if (ends_with(body, "/*")) {
    p.tail = true;
    body.remove_suffix(2);
  }
  if (prefix && !p.tail) {  // `match: prefix` on "/a/**" says the same thing twice
    p.tail = true;
    if (body == "/") {
      body = {};
    } else if (ends_with(body, "/")) {
      body.remove_suffix(1);
    }
  }

  if (!body.empty()) {
    std::size_t pos = 1;  // body[0] == '/'
    while (true) {
      const auto slash = body.find('/', pos);
      const bool last = slash == std::string_view::npos;
      const auto seg = body.substr(pos, last ? body.npos : slash - pos);
      PatternSegment s;
      if (seg.empty()) {
        // Only "/" itself or a trailing slash of an exact path ("/a/").
        if (!last || p.tail) {
          error = "empty segment ('//')";
          return std::nullopt;
        }
      } else if (seg == "**") {
        error = "'**' is only allowed as the last segment";
        return std::nullopt;
      } else if (seg == "*") {
        s.kind = SegmentKind::kStar;
        p.has_star = true;
      } else if (seg.front() == '{') {
        const auto name = seg.substr(1, seg.size() - 1);
        if (seg.back() != '}' || !valid_param_name(name.substr(0, name.size() - 1))) {
          error = "invalid parameter segment '" + std::string(seg) +
                  "' (expected {name}, name of letters, digits and '_')";
          return std::nullopt;
        }
        s.kind = SegmentKind::kParam;
        s.text = std::string(name.substr(0, name.size() - 1));
        if (p.has_param(s.text)) {
          error = "parameter {" + s.text + "} appears twice";
          return std::nullopt;
        }
        ++p.params;
      } else if (seg.find_first_of("{}*") != std::string_view::npos) {
        error = "'" + std::string(seg) + "': {param} and * must be whole segments";
        return std::nullopt;
      } else if (seg == "." || seg == "..") {
        error = "dot segments never match a normalised path";
        return std::nullopt;
      } else {
        // Literals are compared with normalised request paths, so normalise them the same way.
        NormalizedTarget n;
        const std::string probe = "/" + std::string(seg);
        if (normalize_target(probe, n) != PathError::kNone || n.has_query ||
            n.path.find('/', 1) != std::string::npos || n.path.size() < 2) {
          error = "invalid segment '" + std::string(seg) + "' (bad or forbidden %-encoding)";
          return std::nullopt;
        }
        s.text = n.path.substr(1);
      }
      p.segments.push_back(std::move(s));
      if (p.segments.size() > kMaxSegments) {
        error = "more than " + std::to_string(kMaxSegments) + " segments";
        return std::nullopt;
      }
      if (last) break;
      pos = slash + 1;
    }
  }
  if (p.params > kMaxParams) {
    error = "more than " + std::to_string(kMaxParams) + " parameters";
    return std::nullopt;
  }
  while (p.literal_prefix < p.segments.size() &&
         p.segments[p.literal_prefix].kind == SegmentKind::kLiteral) {
    ++p.literal_prefix;
  }
  if (p.params > 0 || p.has_star) {
    if (prefix) {
      error =
          "match: prefix cannot be combined with {param} or *; end the pattern with /** "
          "instead";
      return std::nullopt;
    }
    p.kind = MatchKind::kTemplate;
  } else {
    p.kind = p.tail ? MatchKind::kPrefix : MatchKind::kExact;
  }
  if (p.kind == MatchKind::kExact && p.segments.empty()) {
    p.segments.push_back({});  // "/": one empty segment
    p.literal_prefix = 1;
  }
  return p;
}

std::string check_rewrite(std::string_view rewrite, const RoutePattern& pattern) {
  if (rewrite.empty() || rewrite.front() != '/') return "must start with '/'";
  for (char c : rewrite) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '?' || c == '#' || c == '\\') {
      return "must not contain spaces, control characters, '?', '#' or '\\'";
    }
  }
  std::size_t pos = 0;
  while ((pos = rewrite.find('{', pos)) != std::string_view::npos) {
    const auto close = rewrite.find('}', pos);
    if (close == std::string_view::npos) return "unclosed '{'";
    const auto name = rewrite.substr(pos + 1, close - pos - 1);
    if (!valid_param_name(name)) return "invalid parameter '{" + std::string(name) + "}'";
    if (!pattern.has_param(name)) {
      return "{" + std::string(name) + "} is not a parameter of the path";
    }
    pos = close + 1;
  }
  if (rewrite.find('}') != std::string_view::npos && rewrite.find('{') == std::string_view::npos) {
    return "unmatched '}'";
  }
  return {};
}

std::size_t literal_prefix_segments(std::string_view path) {
  std::size_t n = 0;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    const auto slash = path.find('/', pos);
    const auto seg = path.substr(pos, slash == std::string_view::npos ? path.npos : slash - pos);
    if (seg.empty() || seg == "*" || seg == "**" || seg.front() == '{') break;
    ++n;
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return n;
}

}  // namespace gatewayd::routing
