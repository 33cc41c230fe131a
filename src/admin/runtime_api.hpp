#pragma once
// The parts of the admin API served by the running gateway rather than the database:
//   GET  /admin/services                 services with instances, health and circuit state
//   GET  /admin/services/{name}
//   POST /admin/services/{name}/reset    closes the service's circuit breakers
//   GET  /admin/cors, PUT /admin/cors    the CORS configuration
//   GET  /admin/config                   the live config and settings, secrets redacted
//   POST /admin/reload                   reloads the route and service files
#include <memory>

#include "admin/admin_context.hpp"

namespace gatewayd::admin {

void register_runtime_api(AdminServer& server, std::shared_ptr<AdminContext> context);

}  // namespace gatewayd::admin
