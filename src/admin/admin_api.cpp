#include "admin/admin_api.hpp"

#include "admin/admin_context.hpp"
#include "admin/api_keys_api.hpp"
#include "admin/observability_api.hpp"
#include "admin/rate_limit_rules_api.hpp"
#include "admin/routes_api.hpp"
#include "admin/runtime_api.hpp"

namespace gatewayd {

void register_admin_api(AdminServer& server, AdminApiDeps deps) {
  // One context for every group: the handlers own it, so it lives as long as the server.
  auto context = std::make_shared<admin::AdminContext>(std::move(deps));
  admin::register_routes_api(server, context);
  admin::register_rate_limit_rules_api(server, context);
  admin::register_api_keys_api(server, context);
  admin::register_observability_api(server, context);
  admin::register_runtime_api(server, context);
}

}  // namespace gatewayd
