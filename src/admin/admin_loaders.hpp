#pragma once
// What the database holds for the running gateway, read at start-up and after every change made
// through the admin API (or on a reload): active API routes, active rate-limit rules and API
// key records. Blocking; call them off the event loop. A row that no longer converts (edited by
// hand, say) is skipped and described in `problems`, so one bad row cannot stop a start-up.
#include <string>
#include <vector>

#include "clients/mysql_error.hpp"
#include "clients/mysql_options.hpp"
#include "config/config_loader.hpp"
#include "filters/auth/api_key_store.hpp"
#include "filters/rate_limit/rate_limit_rule.hpp"
#include "gatewayd/config.hpp"
#include "persistence/db_session.hpp"

namespace gatewayd::admin {

template <class T>
struct Loaded {
  std::vector<T> items;
  std::vector<std::string> problems;
};

// Active rows of `routes`, in id order, each parsed with the routes.yaml rules. Whether the
// services exist is checked when they are merged (merge_api_routes).
MySqlResult<Loaded<RouteConfig>> load_api_routes(persistence::DbSession& db,
                                                 const ConfigDefaults& defaults);
MySqlResult<Loaded<RouteConfig>> load_api_routes(const MySqlOptions& options,
                                                 const ConfigDefaults& defaults);

// Active rows of `rate_limit_rules`.
MySqlResult<Loaded<ratelimit::RateLimitRuleSpec>> load_rate_limit_rules(persistence::DbSession& db);
MySqlResult<Loaded<ratelimit::RateLimitRuleSpec>> load_rate_limit_rules(
    const MySqlOptions& options);

// Every row of `api_keys` (disabled ones too: ApiKeyStore refuses them as disabled rather than
// unknown). For ApiKeyStore::set_database_records.
MySqlResult<Loaded<auth::ApiKeyRecord>> load_api_keys(persistence::DbSession& db);
MySqlResult<Loaded<auth::ApiKeyRecord>> load_api_keys(const MySqlOptions& options);

}  // namespace gatewayd::admin
