#pragma once
// Routes from the `routes` table merged with the routes of the files into one Config. File
// routes come first, in file order; API routes follow in id order.
#include <memory>
#include <string>
#include <vector>

#include "gatewayd/config.hpp"

namespace gatewayd::admin {

struct MergedConfig {
  std::shared_ptr<const Config> config;
  std::vector<std::string> dropped;  // why each left-out API route was rejected
};

// Validates and compiles the merged config (finalize_config). Routes of `file_config` that came
// from the database (see api_route_id) are replaced by `api_routes`, so a live config can be the
// base as well as a freshly loaded one.
//   strict: any problem throws ConfigError (an admin change is all or nothing);
//   lenient: an API route the merged config rejects is left out and listed in `dropped`, so a
//            stored route whose service was removed from services.yaml cannot stop a start-up
//            or a file reload. A problem in the files themselves still throws.
MergedConfig merge_api_routes(const Config& file_config, std::vector<RouteConfig> api_routes,
                              bool strict);

}  // namespace gatewayd::admin
