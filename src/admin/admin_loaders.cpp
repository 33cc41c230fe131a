#include "admin/admin_loaders.hpp"

#include "admin/api_key_json.hpp"
#include "admin/rate_limit_rule_json.hpp"
#include "admin/route_json.hpp"
#include "persistence/api_key_repository.hpp"
#include "persistence/rate_limit_rule_store.hpp"
#include "persistence/route_store.hpp"

namespace gatewayd::admin {

MySqlResult<Loaded<RouteConfig>> load_api_routes(persistence::DbSession& db,
                                                 const ConfigDefaults& defaults) {
  using R = MySqlResult<Loaded<RouteConfig>>;
  auto rows = persistence::RouteStore(db).list(true);
  if (!rows.ok()) return R::failure(std::move(*rows.error));
  R out;
  for (const auto& row : rows.value) {
    auto parsed = parse_route_object(object_from_row(row), {row.service_name}, defaults);
    if (auto* error = std::get_if<FieldError>(&parsed)) {
      out.value.problems.push_back(api_route_source(row.id) + ": " + error->field + ": " +
                                   error->message);
      continue;
    }
    auto route = std::get<RouteConfig>(std::move(parsed));
    route.source = api_route_source(row.id);
    out.value.items.push_back(std::move(route));
  }
  return out;
}

MySqlResult<Loaded<RouteConfig>> load_api_routes(const MySqlOptions& options,
                                                 const ConfigDefaults& defaults) {
  persistence::DbSession db(options);
  return load_api_routes(db, defaults);
}

MySqlResult<Loaded<ratelimit::RateLimitRuleSpec>> load_rate_limit_rules(
    persistence::DbSession& db) {
  using R = MySqlResult<Loaded<ratelimit::RateLimitRuleSpec>>;
  auto rows = persistence::RateLimitRuleStore(db).list(true);
  if (!rows.ok()) return R::failure(std::move(*rows.error));
  R out;
  for (const auto& row : rows.value) {
    auto spec = spec_from_row(row);
    if (auto* error = std::get_if<FieldError>(&spec)) {
      out.value.problems.push_back("rate_limit_rules.id=" + std::to_string(row.id) + ": " +
                                   error->field + ": " + error->message);
      continue;
    }
    out.value.items.push_back(std::get<ratelimit::RateLimitRuleSpec>(std::move(spec)));
  }
  return out;
}

MySqlResult<Loaded<ratelimit::RateLimitRuleSpec>> load_rate_limit_rules(
    const MySqlOptions& options) {
  persistence::DbSession db(options);
  return load_rate_limit_rules(db);
}

MySqlResult<Loaded<auth::ApiKeyRecord>> load_api_keys(persistence::DbSession& db) {
  using R = MySqlResult<Loaded<auth::ApiKeyRecord>>;
  auto rows = persistence::ApiKeyRepository(db).list();
  if (!rows.ok()) return R::failure(std::move(*rows.error));
  R out;
  for (const auto& row : rows.value) {
    auto record = record_from_row(row);
    if (!record) {
      out.value.problems.push_back("api_keys.id=" + std::to_string(row.id) +
                                   ": permissions is not a list or an object of lists");
      continue;
    }
    out.value.items.push_back(std::move(*record));
  }
  return out;
}

MySqlResult<Loaded<auth::ApiKeyRecord>> load_api_keys(const MySqlOptions& options) {
  persistence::DbSession db(options);
  return load_api_keys(db);
}

}  // namespace gatewayd::admin
