#pragma once
// Read-only views of the request log (gateway_logs):
//   GET /admin/stats?hours=24         totals, error rate, by route/service/status, top endpoints
//   GET /admin/logs?method=&path=&route=&service=&user=&status=&from=&to=&limit=&offset=
//       (the reference names target_service, user_id, status_code, start_date, end_date too)
//   GET /admin/errors?limit=50        most recent failed requests
//   GET /admin/performance?hours=24   p50/p90/p95/p99 per route
// Parameters out of range get 400 naming the parameter.
#include <memory>

#include "admin/admin_context.hpp"

namespace gatewayd::admin {

void register_observability_api(AdminServer& server, std::shared_ptr<AdminContext> context);

}  // namespace gatewayd::admin
