#pragma once
// /admin/api-keys: keys of the `api_keys` table.
//   GET    /admin/api-keys                  every key, without secrets
//   GET    /admin/api-keys/{id}
//   POST   /admin/api-keys                  creates a key; the answer holds the clear key, the
//                                           only time it is ever shown (only its hash is stored)
//   POST   /admin/api-keys/{id}/disable     refused from then on (kept for the record)
//   POST   /admin/api-keys/{id}/enable
//   DELETE /admin/api-keys/{id}
// After each change the app's on_api_keys_changed callback reloads the key store.
#include <memory>

#include "admin/admin_context.hpp"

namespace gatewayd::admin {

void register_api_keys_api(AdminServer& server, std::shared_ptr<AdminContext> context);

}  // namespace gatewayd::admin
