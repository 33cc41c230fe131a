#pragma once
// /admin/rate-limit-rules: the rules of the `rate_limit_rules` table.
//   GET    /admin/rate-limit-rules
//   GET    /admin/rate-limit-rules/{id}   by id (digits) or rule_name
//   POST   /admin/rate-limit-rules        rule_name, limit_type, path_pattern, max_requests,
//                                         window_seconds, burst, is_active
//   PUT    /admin/rate-limit-rules/{id}   fields to change (the rest is kept)
//   DELETE /admin/rate-limit-rules/{id}
// After each change the app's on_rules_changed callback reloads the limiter's rules.
#include <memory>

#include "admin/admin_context.hpp"

namespace gatewayd::admin {

void register_rate_limit_rules_api(AdminServer& server, std::shared_ptr<AdminContext> context);

}  // namespace gatewayd::admin
