#include "admin/rate_limit_rules_api.hpp"

#include "admin/rate_limit_rule_json.hpp"

namespace gatewayd::admin {
namespace {

using nlohmann::json;
using persistence::RateLimitRuleRow;

class RateLimitRulesApi {
 public:
  explicit RateLimitRulesApi(std::shared_ptr<AdminContext> ctx) : ctx_(std::move(ctx)) {}

  AdminResponse list(const AdminRequest&) const;
  AdminResponse get(const AdminRequest& req) const;
  AdminResponse create(const AdminRequest& req) const;
  AdminResponse update(const AdminRequest& req) const;
  AdminResponse remove(const AdminRequest& req) const;

 private:
  // The row {id} names, or the answer (404, 503, database error).
  std::variant<RateLimitRuleRow, AdminResponse> find(const AdminRequest& req) const;
  AdminResponse write_failed(const MySqlError& error) const;
  void changed() const {
    if (ctx_->deps().on_rules_changed) ctx_->deps().on_rules_changed();
  }
  persistence::RateLimitRuleStore store() const {
    return persistence::RateLimitRuleStore(*ctx_->db());
  }

  std::shared_ptr<AdminContext> ctx_;
};

AdminResponse RateLimitRulesApi::list(const AdminRequest&) const {
  if (!ctx_->db()) return database_disabled();
  auto rows = store().list(false);
  if (!rows.ok()) return database_error(*rows.error);
  json rules = json::array();
  for (const auto& row : rows.value) rules.push_back(rule_row_to_json(row));
  return json_response(200, {{"rules", rules}, {"count", rules.size()}});
}

AdminResponse RateLimitRulesApi::get(const AdminRequest& req) const {
  auto found = find(req);
  if (auto* answer = std::get_if<AdminResponse>(&found)) return *answer;
  return json_response(200, rule_row_to_json(std::get<RateLimitRuleRow>(found)));
}

AdminResponse RateLimitRulesApi::create(const AdminRequest& req) const {
  if (!ctx_->db()) return database_disabled();
  auto body = body_object(req);
  if (auto* answer = std::get_if<AdminResponse>(&body)) return *answer;
  auto spec = spec_from_body(std::get<json>(body));
  if (auto* error = std::get_if<FieldError>(&spec)) return bad_request({*error});
  RateLimitRuleRow row = row_from_spec(std::get<ratelimit::RateLimitRuleSpec>(spec));
  auto inserted = store().insert(row);
  if (!inserted.ok()) return write_failed(*inserted.error);
  auto stored = store().find(inserted.value);
  if (!stored.ok()) return database_error(*stored.error);
  if (stored.value) row = *stored.value;
  changed();
  ctx_->audit(req, "admin.rate_limit_rule.created", rule_row_to_json(row));
  return json_response(201, rule_row_to_json(row));
}

AdminResponse RateLimitRulesApi::update(const AdminRequest& req) const {
  auto found = find(req);
  if (auto* answer = std::get_if<AdminResponse>(&found)) return *answer;
  const RateLimitRuleRow old = std::get<RateLimitRuleRow>(found);
  auto body = body_object(req);
  if (auto* answer = std::get_if<AdminResponse>(&body)) return *answer;
  json merged = rule_row_to_json(old);
  for (const auto& [key, value] : std::get<json>(body).items()) {
    // "name" and "enabled" are accepted spellings of rule_name and is_active.
    if (key == "name") merged.erase("rule_name");
    if (key == "enabled") merged.erase("is_active");
    merged[key] = value;
  }
  auto spec = spec_from_body(merged);
  if (auto* error = std::get_if<FieldError>(&spec)) return bad_request({*error});
  RateLimitRuleRow row = row_from_spec(std::get<ratelimit::RateLimitRuleSpec>(spec));
  row.id = old.id;
  auto updated = store().update(row);
  if (!updated.ok()) return write_failed(*updated.error);
  if (!updated.value) return not_found("rate-limit rule");
  auto stored = store().find(row.id);
  if (!stored.ok()) return database_error(*stored.error);
  if (stored.value) row = *stored.value;
  changed();
  ctx_->audit(req, "admin.rate_limit_rule.updated", rule_row_to_json(row));
  return json_response(200, rule_row_to_json(row));
}

AdminResponse RateLimitRulesApi::remove(const AdminRequest& req) const {
  auto found = find(req);
  if (auto* answer = std::get_if<AdminResponse>(&found)) return *answer;
  const auto& row = std::get<RateLimitRuleRow>(found);
  auto removed = store().remove(row.id);
  if (!removed.ok()) return database_error(*removed.error);
  if (!removed.value) return not_found("rate-limit rule");
  changed();
  ctx_->audit(req, "admin.rate_limit_rule.deleted", {{"id", row.id}, {"rule_name", row.rule_name}});
  return json_response(200, {{"deleted", row.id}, {"rule_name", row.rule_name}});
}

std::variant<RateLimitRuleRow, AdminResponse> RateLimitRulesApi::find(
    const AdminRequest& req) const {
  if (!ctx_->db()) return database_disabled();
  const std::string key(req.param("id"));
  const auto id = parse_id(key);
  auto found = id ? store().find(*id) : store().find_by_name(key);
  if (!found.ok()) return database_error(*found.error);
  if (!found.value) return not_found("rate-limit rule");
  return *found.value;
}

AdminResponse RateLimitRulesApi::write_failed(const MySqlError& error) const {
  if (error.code == persistence::kMySqlDuplicateEntry) {
    return conflict("CONFLICT", "a rule with this rule_name exists",
                    {{"fields", {{"rule_name", "already used"}}}});
  }
  return database_error(error);
}

}  // namespace

void register_rate_limit_rules_api(AdminServer& server, std::shared_ptr<AdminContext> context) {
  auto api = std::make_shared<const RateLimitRulesApi>(std::move(context));
  const std::string base = "/admin/rate-limit-rules";
  server.handle("GET", base, [api](const AdminRequest& r) { return api->list(r); });
  server.handle("POST", base, [api](const AdminRequest& r) { return api->create(r); });
  server.handle("GET", base + "/{id}", [api](const AdminRequest& r) { return api->get(r); });
  server.handle("PUT", base + "/{id}", [api](const AdminRequest& r) { return api->update(r); });
  server.handle("DELETE", base + "/{id}", [api](const AdminRequest& r) { return api->remove(r); });
}

}  // namespace gatewayd::admin
