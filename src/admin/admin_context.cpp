#include "admin/admin_context.hpp"

#include "gatewayd/logging.hpp"

namespace gatewayd::admin {

using nlohmann::json;

AdminContext::AdminContext(AdminApiDeps deps) : deps_(std::move(deps)) {
  if (deps_.mysql) db_ = std::make_unique<persistence::DbSession>(*deps_.mysql);
}

std::shared_ptr<const Config> AdminContext::config() const {
  auto config = deps_.current_config ? deps_.current_config() : nullptr;
  return config ? config : std::make_shared<const Config>();
}

void AdminContext::audit(const AdminRequest& req, std::string_view event, json details) const {
  if (!deps_.records) return;
  AuditRecord record;
  record.event_type = std::string(event);
  // The admin token identifies no person: the caller is "admin" and its address.
  record.user_id = "admin";
  record.ip_address = req.client_ip;
  details["method"] = req.method;
  details["path"] = req.path;
  record.details_json = details.dump();
  record.created_at = std::chrono::system_clock::now();
  deps_.records->submit(std::move(record));
}

AdminResponse json_response(unsigned status, const json& body) {
  return AdminResponse{status, body.dump()};
}

AdminResponse bad_request(const std::vector<FieldError>& errors) {
  json fields = json::object();
  for (const auto& e : errors) {
    if (!fields.contains(e.field)) fields[e.field] = e.message;
  }
  std::string message = "invalid request";
  if (errors.size() == 1) message = errors.front().field + ": " + errors.front().message;
  return AdminServer::error(400, "BAD_REQUEST", message, json{{"fields", fields}}.dump());
}

AdminResponse not_found(std::string_view what) {
  return AdminServer::error(404, "NOT_FOUND", std::string(what) + " not found");
}

AdminResponse conflict(std::string_view code, std::string_view message, const json& details) {
  return AdminServer::error(409, code, message, details.dump());
}

AdminResponse database_disabled() {
  return AdminServer::error(503, "DATABASE_DISABLED",
                            "this endpoint needs MySQL: set MYSQL_ENABLED=true");
}

AdminResponse database_error(const MySqlError& error) {
  if (error.connection_lost()) {
    return AdminServer::error(503, "DATABASE_UNAVAILABLE", "the database cannot be reached");
  }
  if (error.data_error()) return bad_request({{"body", error.message}});
  logging::error().error("admin: database query failed: {}", error.describe());
  return AdminServer::error(500, "INTERNAL", "database error");
}

std::variant<json, AdminResponse> body_object(const AdminRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return bad_request({{"body", "not valid JSON"}});
  if (!body.is_object()) return bad_request({{"body", "expected a JSON object"}});
  return body;
}

std::optional<std::uint64_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (id == 0) return std::nullopt;
  return id;
}

}  // namespace gatewayd::admin
