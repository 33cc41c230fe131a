// normalize_target: origin-form request targets to the canonical path the router matches and
// the upstream receives. Hand-written rather than built on a URL library because the rules are
// stricter than RFC 3986 normalisation (encoded slashes, NUL and climbing above the root are
// rejected instead of passed on or clamped) and the common case must cost one scan and one copy.
#include <cstdint>
#include <string>
#include <string_view>

#include "gatewayd/router.hpp"

namespace gatewayd {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Raw bytes that are never acceptable in a path.
PathError check_raw(unsigned char c) noexcept {
  if (c == 0) return PathError::kNul;
  if (c == '\\') return PathError::kBackslash;
  if (c < 0x20 || c == 0x7f || c == '#') return PathError::kBadEncoding;
  return PathError::kNone;
}

// A "." or ".." segment starts at `i` (just after a '/').
bool dot_segment_at(std::string_view p, std::size_t i) noexcept {
  if (i >= p.size() || p[i] != '.') return false;
  if (i + 1 == p.size() || p[i + 1] == '/') return true;
  return p[i + 1] == '.' && (i + 2 == p.size() || p[i + 2] == '/');
}

// RFC 3986 section 5.2.4 over an absolute path, except that ".." above the root is an error.
PathError remove_dot_segments(std::string_view in, std::string& out) {
  out.clear();
  std::size_t pos = 1;  // in[0] == '/'
  bool last_was_dot = false;
  while (true) {
    const auto slash = in.find('/', pos);
    const auto seg = in.substr(pos, slash == std::string_view::npos ? in.npos : slash - pos);
    last_was_dot = false;
    if (seg == ".") {
      last_was_dot = true;
    } else if (seg == "..") {
      if (out.empty()) return PathError::kEscapesRoot;
      out.resize(out.rfind('/'));
      last_was_dot = true;
    } else {
      out += '/';
      out.append(seg);
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  if (last_was_dot || out.empty()) out += '/';
  return PathError::kNone;
}

}  // namespace

PathError normalize_target(std::string_view target, NormalizedTarget& out) {
  out.path.clear();
  out.query = {};
  out.has_query = false;
  out.changed = false;
  if (target.empty() || target.front() != '/') return PathError::kNotOrigin;

  std::string_view path = target;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    out.query = target.substr(q + 1);
    out.has_query = true;
  }

  bool slow = false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (const auto e = check_raw(c); e != PathError::kNone) return e;
    if (c == '%' || (c == '/' && dot_segment_at(path, i + 1))) slow = true;
  }
  if (!slow) {
    out.path.assign(path);
    return PathError::kNone;
  }

  // Decode unreserved escapes first, so "%2E%2E" is the ".." an upstream would see.
  std::string decoded;
  decoded.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c != '%') {
      decoded += c;
      continue;
    }
    if (i + 2 >= path.size()) return PathError::kBadEncoding;
    const int hi = hex_value(path[i + 1]);
    const int lo = hex_value(path[i + 2]);
    if (hi < 0 || lo < 0) return PathError::kBadEncoding;
    const auto v = static_cast<unsigned char>(hi * 16 + lo);
    if (v == '/' || v == '\\') return PathError::kEncodedSlash;
    if (v == 0) return PathError::kNul;
    if (v < 0x20 || v == 0x7f) return PathError::kBadEncoding;
    if (is_unreserved(v)) {
      decoded += static_cast<char>(v);
    } else {
      decoded += '%';
      decoded += kHex[v >> 4];
      decoded += kHex[v & 0xf];
    }
    i += 2;
  }
  if (const auto e = remove_dot_segments(decoded, out.path); e != PathError::kNone) {
    out.path.clear();
    return e;
  }
  out.changed = out.path != path;
  return PathError::kNone;
}

}  // namespace gatewayd
