#include <string>
#include <string_view>

#include "gatewayd/router.hpp"
#include "routing/route_pattern.hpp"

namespace gatewayd {

std::string upstream_path(const RouteConfig& route, const RouteMatch& match,
                          std::string_view path) {
  if (route.rewrite_path) {
    const std::string_view tpl = *route.rewrite_path;
    std::string out;
    out.reserve(tpl.size() + path.size());
    std::size_t pos = 0;
    while (pos < tpl.size()) {
      const auto open = tpl.find('{', pos);
      if (open == std::string_view::npos) break;
      const auto close = tpl.find('}', open);
      if (close == std::string_view::npos) break;
      out.append(tpl.substr(pos, open - pos));
      const auto name = tpl.substr(open + 1, close - open - 1);
      bool found = false;
      for (const auto& [k, v] : match.params) {
        if (k == name) {
          out.append(v);
          found = true;
          break;
        }
      }
      // Validated configs only name known parameters; keep the text otherwise.
      if (!found) out.append(tpl.substr(open, close - open + 1));
      pos = close + 1;
    }
    out.append(tpl.substr(pos));
    return out;
  }
  if (route.strip_prefix) {
    const std::size_t n = routing::literal_prefix_segments(route.path);
    std::size_t pos = 0;
    for (std::size_t i = 0; i < n && pos < path.size(); ++i) {
      pos = path.find('/', pos + 1);
      if (pos == std::string_view::npos) pos = path.size();
    }
    const auto rest = path.substr(pos);
    return rest.empty() ? std::string("/") : std::string(rest);
  }
  return std::string(path);
}

}  // namespace gatewayd
