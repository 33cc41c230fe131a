#include "admin/api_keys_api.hpp"

#include "admin/api_key_json.hpp"

namespace gatewayd::admin {
namespace {

using nlohmann::json;
using persistence::ApiKeyRow;

class ApiKeysApi {
 public:
  explicit ApiKeysApi(std::shared_ptr<AdminContext> ctx) : ctx_(std::move(ctx)) {}

  AdminResponse list(const AdminRequest&) const;
  AdminResponse get(const AdminRequest& req) const;
  AdminResponse create(const AdminRequest& req) const;
  AdminResponse set_active(const AdminRequest& req, bool active) const;
  AdminResponse remove(const AdminRequest& req) const;

 private:
  std::variant<ApiKeyRow, AdminResponse> find(const AdminRequest& req) const;
  void changed() const {
    if (ctx_->deps().on_api_keys_changed) ctx_->deps().on_api_keys_changed();
  }
  persistence::ApiKeyRepository keys() const { return persistence::ApiKeyRepository(*ctx_->db()); }

  std::shared_ptr<AdminContext> ctx_;
};

AdminResponse ApiKeysApi::list(const AdminRequest&) const {
  if (!ctx_->db()) return database_disabled();
  auto rows = keys().list();
  if (!rows.ok()) return database_error(*rows.error);
  json out = json::array();
  for (const auto& row : rows.value) out.push_back(api_key_row_to_json(row));
  return json_response(200, {{"api_keys", out}, {"count", out.size()}});
}

AdminResponse ApiKeysApi::get(const AdminRequest& req) const {
  auto found = find(req);
  if (auto* answer = std::get_if<AdminResponse>(&found)) return *answer;
  return json_response(200, api_key_row_to_json(std::get<ApiKeyRow>(found)));
}

AdminResponse ApiKeysApi::create(const AdminRequest& req) const {
  if (!ctx_->db()) return database_disabled();
  auto body = body_object(req);
  if (auto* answer = std::get_if<AdminResponse>(&body)) return *answer;
  auto parsed = api_key_row_from_body(std::get<json>(body), std::chrono::system_clock::now());
  if (auto* errors = std::get_if<std::vector<FieldError>>(&parsed)) return bad_request(*errors);
  ApiKeyRow row = std::get<ApiKeyRow>(std::move(parsed));
  const auto generated = auth::generate_api_key();
  row.api_key_hash = generated.hash_hex;
  row.created_by = "admin";
  auto inserted = keys().insert(row);
  if (!inserted.ok()) return database_error(*inserted.error);
  auto stored = keys().find(inserted.value);
  if (!stored.ok()) return database_error(*stored.error);
  if (stored.value) {
    row = *stored.value;
  } else {
    row.id = inserted.value;
  }
  changed();
  ctx_->audit(req, "admin.api_key.created",
              {{"id", row.id}, {"user_id", row.user_id}, {"name", row.name}});
  json view = api_key_row_to_json(row);
  view["api_key"] = generated.key;
  view["notice"] = "store this key now: it is not kept and cannot be shown again";
  return json_response(201, view);
}

AdminResponse ApiKeysApi::set_active(const AdminRequest& req, bool active) const {
  auto found = find(req);
  if (auto* answer = std::get_if<AdminResponse>(&found)) return *answer;
  ApiKeyRow row = std::get<ApiKeyRow>(std::move(found));
  auto updated = keys().set_active(row.id, active);
  if (!updated.ok()) return database_error(*updated.error);
  if (!updated.value) return not_found("API key");
  auto stored = keys().find(row.id);
  if (!stored.ok()) return database_error(*stored.error);
  if (stored.value) row = *stored.value;
  changed();
  ctx_->audit(req, active ? "admin.api_key.enabled" : "admin.api_key.disabled",
              {{"id", row.id}, {"user_id", row.user_id}, {"name", row.name}});
  return json_response(200, api_key_row_to_json(row));
}

AdminResponse ApiKeysApi::remove(const AdminRequest& req) const {
  auto found = find(req);
  if (auto* answer = std::get_if<AdminResponse>(&found)) return *answer;
  const auto& row = std::get<ApiKeyRow>(found);
  auto removed = keys().remove(row.id);
  if (!removed.ok()) return database_error(*removed.error);
  if (!removed.value) return not_found("API key");
  changed();
  ctx_->audit(req, "admin.api_key.deleted",
              {{"id", row.id}, {"user_id", row.user_id}, {"name", row.name}});
  return json_response(200, {{"deleted", row.id}});
}

std::variant<ApiKeyRow, AdminResponse> ApiKeysApi::find(const AdminRequest& req) const {
  if (!ctx_->db()) return database_disabled();
  const auto id = parse_id(req.param("id"));
  if (!id) return not_found("API key");
  auto found = keys().find(*id);
  if (!found.ok()) return database_error(*found.error);
  if (!found.value) return not_found("API key");
  return *found.value;
}

}  // namespace

void register_api_keys_api(AdminServer& server, std::shared_ptr<AdminContext> context) {
  auto api = std::make_shared<const ApiKeysApi>(std::move(context));
  const std::string base = "/admin/api-keys";
  server.handle("GET", base, [api](const AdminRequest& r) { return api->list(r); });
  server.handle("POST", base, [api](const AdminRequest& r) { return api->create(r); });
  server.handle("GET", base + "/{id}", [api](const AdminRequest& r) { return api->get(r); });
  server.handle("DELETE", base + "/{id}", [api](const AdminRequest& r) { return api->remove(r); });
  server.handle("POST", base + "/{id}/disable",
                [api](const AdminRequest& r) { return api->set_active(r, false); });
  server.handle("POST", base + "/{id}/enable",
                [api](const AdminRequest& r) { return api->set_active(r, true); });
}

}  // namespace gatewayd::admin
