#pragma once
// What every admin endpoint group shares: the app's dependencies, the database session (when
// MySQL is enabled), the audit trail and the JSON answers.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/admin_api.hpp"
#include "admin/field_error.hpp"
#include "persistence/db_session.hpp"

namespace gatewayd::admin {

class AdminContext {
 public:
  explicit AdminContext(AdminApiDeps deps);

  const AdminApiDeps& deps() const noexcept { return deps_; }
  // Null when MySQL is disabled.
  persistence::DbSession* db() const noexcept { return db_.get(); }
  std::shared_ptr<const Config> config() const;

  // Submits an AuditRecord for a change made by the admin caller.
  void audit(const AdminRequest& req, std::string_view event, nlohmann::json details) const;

 private:
  AdminApiDeps deps_;
  std::unique_ptr<persistence::DbSession> db_;
};

// Answers.
AdminResponse json_response(unsigned status, const nlohmann::json& body);
AdminResponse bad_request(const std::vector<FieldError>& errors);
AdminResponse not_found(std::string_view what);
AdminResponse conflict(std::string_view code, std::string_view message,
                       const nlohmann::json& details = nlohmann::json::object());
AdminResponse database_disabled();
// A failed query: 503 when the database is unreachable, 400 when the values were refused,
// 500 otherwise (logged; the answer never carries more than the server's message).
AdminResponse database_error(const MySqlError& error);

// The request body as a JSON object, or the 400 answer.
std::variant<nlohmann::json, AdminResponse> body_object(const AdminRequest& req);
// A positive decimal id, or nullopt.
std::optional<std::uint64_t> parse_id(std::string_view text);

}  // namespace gatewayd::admin
