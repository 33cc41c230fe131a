#include "admin/route_merge.hpp"

#include <string_view>

#include "admin/route_json.hpp"
#include "config/config_loader.hpp"

namespace gatewayd::admin {
namespace {

// The index of the API route a loader message is about, or -1.
int blamed_route(std::string_view message, const std::vector<RouteConfig>& routes,
                 std::size_t first_api) {
  for (std::size_t i = first_api; i < routes.size(); ++i) {
    const std::string& source = routes[i].source;
    if (message.starts_with(source) && message.size() > source.size() &&
        (message[source.size()] == ' ' || message[source.size()] == ':')) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

MergedConfig merge_api_routes(const Config& file_config, std::vector<RouteConfig> api_routes,
                              bool strict) {
  Config merged;
  merged.services = file_config.services;
  merged.generation = file_config.generation;
  for (const auto& route : file_config.routes) {
    if (!api_route_id(route)) merged.routes.push_back(route);
  }
  const std::size_t first_api = merged.routes.size();
  for (auto& route : api_routes) merged.routes.push_back(std::move(route));

  MergedConfig out;
  // Each round drops one route, so this ends after at most api_routes.size() + 1 rounds.
  for (;;) {
    try {
      out.config = finalize_config(merged);
      return out;
    } catch (const ConfigError& e) {
      const int blamed = strict ? -1 : blamed_route(e.what(), merged.routes, first_api);
      if (blamed < 0) throw;
      out.dropped.emplace_back(e.what());
      merged.routes.erase(merged.routes.begin() + blamed);
    }
  }
}

}  // namespace gatewayd::admin
