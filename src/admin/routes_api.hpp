#pragma once
// /admin/routes: the routes serving now (routes.yaml and API routes) and the CRUD of API routes.
//   GET    /admin/routes            every live route, plus inactive API routes
//   GET    /admin/routes/{id}       by API id (digits) or by route name
//   POST   /admin/routes            a routes.yaml entry as JSON (+ "is_active")
//   PUT    /admin/routes/{id}       fields to change (the rest is kept)
//   DELETE /admin/routes/{id}
// File routes are read-only here (409 READ_ONLY). A change is checked against the live routes
// first (400 with the field, 409 for clashes), stored, then published through the app; if the
// app rejects the merged config, the stored change is undone.
#include <memory>

#include "admin/admin_context.hpp"

namespace gatewayd::admin {

void register_routes_api(AdminServer& server, std::shared_ptr<AdminContext> context);

}  // namespace gatewayd::admin
