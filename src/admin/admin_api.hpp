#pragma once
// The admin and management API (routes, rate-limit rules, API keys, services, CORS, request
// log queries, live config, reload) on the AdminServer. The app hands over plain callbacks and
// pointers, so this module knows nothing about how the app publishes a config or resets a
// breaker. Every mutating call submits an AuditRecord. With MySQL disabled, the endpoints that
// need the database answer 503 DATABASE_DISABLED and the others keep working.
// admin_server.hpp names asio::awaitable without including it (its module gets it from a
// precompiled header); include it here so that users outside that module compile too.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/admin_server.hpp"
#include "admin/field_error.hpp"
#include "clients/mysql_options.hpp"
#include "config/config_loader.hpp"
#include "gatewayd/config.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd {

struct AdminApiDeps {
  // The config serving now: routes.yaml merged with the active API routes (merge_api_routes).
  std::function<std::shared_ptr<const Config>()> current_config;
  // Defaults for the fields a route leaves out (ConfigDefaults::from_settings).
  ConfigDefaults config_defaults;
  // Publishes the given active API routes merged with the route and service files, validated
  // and swapped in atomically like a reload. Returns "" on success, otherwise why the merged
  // config was rejected (the change is then undone). Called after each route change.
  std::function<std::string(std::vector<RouteConfig> api_routes)> publish_routes;
  // Audit trail of every mutating call; null discards.
  RecordSink* records = nullptr;
  // MySQL/MariaDB holding routes, rate_limit_rules, api_keys and gateway_logs; nullopt when
  // MYSQL_ENABLED is false.
  std::optional<MySqlOptions> mysql;
  // Called after rate_limit_rules changed (reload them with admin::load_rate_limit_rules).
  std::function<void()> on_rules_changed;
  // Called after api_keys changed (reload them with admin::load_api_keys).
  std::function<void()> on_api_keys_changed;
  // Services as a JSON array: [{"name", "instances": [{"url", "healthy", "weight", ...}],
  // "circuit": {"state", ...}, ...}]. Null: the endpoint answers an empty list.
  std::function<nlohmann::json()> services;
  // Closes the breakers of a service; false when there is no such service.
  std::function<bool(const std::string& service)> reset_circuit;
  // The CORS configuration as JSON, and its replacement: returns the problems of the body
  // (nothing applied) or an empty list once applied.
  std::function<nlohmann::json()> cors;
  std::function<std::vector<admin::FieldError>(const nlohmann::json&)> update_cors;
  // Reloads the files (and the API routes); "" on success, otherwise why it was rejected.
  std::function<std::string()> reload;
  // Process settings with secrets redacted (Settings::redacted), shown by GET /admin/config.
  std::function<std::map<std::string, std::string>()> settings;
};

// Registers every endpoint under /admin/ on `server` (before server.start()).
void register_admin_api(AdminServer& server, AdminApiDeps deps);

}  // namespace gatewayd
