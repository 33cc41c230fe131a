// Route matching. Exact routes sit in one hash map keyed by path; every other route hangs off
// a trie of literal segments at the node of its literal prefix. A lookup is one hash probe for
// exact routes, then a walk down the trie (one probe per path segment) trying the deepest
// node's candidates first, which is what "longest literal prefix" means. Candidates inside a
// node are pre-sorted by the remaining precedence keys, so the first hit wins and matching
// allocates nothing unless the route has parameters or the answer is a 405.
#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gatewayd/router.hpp"
#include "routing/route_pattern.hpp"

namespace gatewayd {
namespace {

using routing::PatternSegment;
using routing::SegmentKind;

// Methods as bits; Allow lists them in this order.
constexpr std::array<std::string_view, 9> kMethodNames{
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"};

std::uint16_t method_bit(std::string_view m) noexcept {
  switch (m.size()) {
    case 3:
      if (m == "GET") return 1u << 0;
      if (m == "PUT") return 1u << 3;
      break;
    case 4:
      if (m == "HEAD") return 1u << 1;
      if (m == "POST") return 1u << 2;
      break;
    case 5:
      if (m == "PATCH") return 1u << 5;
      if (m == "TRACE") return 1u << 7;
      break;
    case 6:
      if (m == "DELETE") return 1u << 4;
      break;
    case 7:
      if (m == "OPTIONS") return 1u << 6;
      if (m == "CONNECT") return 1u << 8;
      break;
    default:
      break;
  }
  return 0;
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

enum class HostKind : std::uint8_t { kAny = 0, kSuffix = 1, kExact = 2 };

struct Candidate {
  std::uint32_t index = 0;
  std::uint16_t methods = 0;
  HostKind host_kind = HostKind::kAny;
  bool tail = false;
  bool wildcard = false;  // has * or a trailing wildcard (ranks below pure templates)
  std::uint8_t params = 0;
  int priority = 0;
  std::string host;                  // lower-case; ".example.com" for "*.example.com"
  std::vector<PatternSegment> rest;  // segments after the literal prefix

  bool host_matches(std::string_view h) const noexcept {
    switch (host_kind) {
      case HostKind::kAny:
        return true;
      case HostKind::kExact:
        return iequals(h, host);
      case HostKind::kSuffix:
        return h.size() > host.size() && iequals(h.substr(h.size() - host.size()), host);
    }
    return false;
  }
};

// Precedence inside one rank (same node, or the same exact path).
bool ranks_before(const Candidate& a, const Candidate& b) {
  if (a.wildcard != b.wildcard) return !a.wildcard;
  if (a.host_kind != b.host_kind) return a.host_kind > b.host_kind;
  if (a.host.size() != b.host.size()) return a.host.size() > b.host.size();
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.index < b.index;
}

struct Capture {
  std::string_view name, value;
};

}  // namespace

struct Router::Impl {
  struct Node {
    std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> children;
    std::vector<Candidate> candidates;
  };

  const std::vector<RouteConfig>* routes = nullptr;
  std::unordered_map<std::string, std::vector<Candidate>, StringHash, std::equal_to<>> exact;
  std::vector<Node> nodes;  // nodes[0] is the root

  // Tries `c` against the path rest starting at `pos` (end of path or a '/').
  bool try_candidate(const Candidate& c, std::string_view host, std::string_view path,
                     std::size_t pos, std::uint16_t method, std::uint16_t& allow,
                     RouteMatch& m) const {
    if (!c.host_matches(host)) return false;
    std::array<Capture, routing::kMaxParams> caps;
    std::size_t ncaps = 0;
    for (const auto& seg : c.rest) {
      if (pos >= path.size()) return false;
      const std::size_t start = pos + 1;
      std::size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      const std::string_view s = path.substr(start, end - start);
      if (seg.kind == SegmentKind::kLiteral) {
        if (s != seg.text) return false;
      } else {
        if (s.empty()) return false;
        if (seg.kind == SegmentKind::kParam) caps[ncaps++] = {seg.text, s};
      }
      pos = end;
    }
    if (c.tail ? (pos != path.size() && path[pos] != '/') : pos != path.size()) return false;
    if ((c.methods & method) == 0) {
      allow |= c.methods;
      return false;
    }
    m.status = MatchStatus::kMatched;
    m.route = &(*routes)[c.index];
    m.route_index = c.index;
    if (ncaps > 0) {
      m.params.reserve(ncaps);
      for (std::size_t i = 0; i < ncaps; ++i) m.params.emplace_back(caps[i].name, caps[i].value);
    }
    return true;
  }

  // Deepest literal match first: recurse into the child for the next segment, then fall back to
  // this node's own candidates.
  bool walk(std::uint32_t node_index, std::string_view host, std::string_view path, std::size_t pos,
            std::uint16_t method, std::uint16_t& allow, RouteMatch& m) const {
    const Node& node = nodes[node_index];
    if (pos < path.size() && !node.children.empty()) {
      const std::size_t start = pos + 1;
      std::size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      const auto it = node.children.find(path.substr(start, end - start));
      if (it != node.children.end() && walk(it->second, host, path, end, method, allow, m)) {
        return true;
      }
    }
    for (const auto& c : node.candidates) {
      if (try_candidate(c, host, path, pos, method, allow, m)) return true;
    }
    return false;
  }
};

Router::Router(const std::vector<RouteConfig>& routes) : impl_(std::make_unique<Impl>()) {
  impl_->routes = &routes;
  impl_->nodes.emplace_back();
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const RouteConfig& r = routes[i];
    if (!r.enabled) continue;
    std::string error;
    auto pattern = routing::parse_route_pattern(r.path, r.match == MatchKind::kPrefix, error);
    if (!pattern) throw std::invalid_argument("route " + r.path + ": " + error);

    Candidate c;
    c.index = static_cast<std::uint32_t>(i);
    c.priority = r.priority;
    for (const auto& name : r.methods) {
      std::string upper(name);
      for (auto& ch : upper) ch = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 32) : ch;
      const auto bit = method_bit(upper);
      if (bit == 0) throw std::invalid_argument("route " + r.path + ": unknown method " + name);
      c.methods |= bit;
    }
    if (r.methods.empty()) c.methods = method_bit("GET");
    if (c.methods & method_bit("GET")) c.methods |= method_bit("HEAD");
    if (r.host && !r.host->empty()) {
      std::string h;
      for (char ch : *r.host) h += lower(ch);
      if (h.size() > 2 && h[0] == '*' && h[1] == '.') {
        c.host_kind = HostKind::kSuffix;
        c.host = h.substr(1);
      } else {
        c.host_kind = HostKind::kExact;
        c.host = h;
      }
    }
    c.tail = pattern->tail;
    c.wildcard = pattern->tail || pattern->has_star;
    c.params = static_cast<std::uint8_t>(pattern->params);

    if (pattern->kind == MatchKind::kExact) {
      impl_->exact[pattern->literal_path()].push_back(std::move(c));
      continue;
    }
    std::uint32_t node = 0;
    for (std::size_t s = 0; s < pattern->literal_prefix; ++s) {
      const std::string& seg = pattern->segments[s].text;
      auto& children = impl_->nodes[node].children;
      if (const auto it = children.find(seg); it != children.end()) {
        node = it->second;
        continue;
      }
      const auto next = static_cast<std::uint32_t>(impl_->nodes.size());
      impl_->nodes[node].children.emplace(seg, next);
      impl_->nodes.emplace_back();
      node = next;
    }
    c.rest.assign(pattern->segments.begin() + static_cast<std::ptrdiff_t>(pattern->literal_prefix),
                  pattern->segments.end());
    impl_->nodes[node].candidates.push_back(std::move(c));
  }
  for (auto& [path, list] : impl_->exact) std::stable_sort(list.begin(), list.end(), ranks_before);
  for (auto& node : impl_->nodes) {
    std::stable_sort(node.candidates.begin(), node.candidates.end(), ranks_before);
  }
}

Router::~Router() = default;

RouteMatch Router::match(std::string_view host, std::string_view path,
                         std::string_view method) const {
  RouteMatch m;
  const std::uint16_t bit = method_bit(method);
  std::uint16_t allow = 0;
  if (!impl_->exact.empty()) {
    if (const auto it = impl_->exact.find(path); it != impl_->exact.end()) {
      for (const auto& c : it->second) {
        if (impl_->try_candidate(c, host, path, path.size(), bit, allow, m)) return m;
      }
    }
  }
  if (!path.empty() && path.front() == '/' && impl_->walk(0, host, path, 0, bit, allow, m)) {
    return m;
  }
  if (allow != 0) {
    m.status = MatchStatus::kMethodNotAllowed;
    for (std::size_t i = 0; i < kMethodNames.size(); ++i) {
      if ((allow & (1u << i)) == 0) continue;
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += kMethodNames[i];
    }
  }
  return m;
}

}  // namespace gatewayd
