#pragma once
// Routes as JSON for the admin API, and the bridge to the `routes` table. A route object has the
// fields of a routes.yaml entry; it is parsed by the same loader as the file (JSON is YAML), so
// a route created through the API obeys exactly the rules of routes.yaml and a rejected one gets
// the same field-level message.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/field_error.hpp"
#include "config/config_loader.hpp"
#include "gatewayd/config.hpp"
#include "persistence/route_store.hpp"

namespace gatewayd::admin {

// Parses one route object. `services` are the service names the route may refer to (besides
// "internal"); an unknown one is reported like the file loader does. The result is finalized:
// name derived when absent, match kind set.
std::variant<RouteConfig, FieldError> parse_route_object(const nlohmann::json& object,
                                                         const std::vector<std::string>& services,
                                                         const ConfigDefaults& defaults);

// Turns a ConfigError message about the route described by `source` and `path` into a field
// and a message; other messages come back whole under the field "route".
FieldError field_error_from(std::string_view message, std::string_view source,
                            std::string_view path);

// The source of a route stored in the `routes` table ("admin-api routes.id=7"); it prefixes
// the loader's messages and tells API routes apart from file routes in a live config.
std::string api_route_source(std::uint64_t id);
std::optional<std::uint64_t> api_route_id(const RouteConfig& route);

// The row that stores a parsed route. `object` is what the caller sent (after merging):
// fields without a column of their own are kept in `extra`.
persistence::RouteRow row_from_route(const RouteConfig& route, const nlohmann::json& object,
                                     bool is_active);
// The route object a row stands for (what parse_route_object takes).
nlohmann::json object_from_row(const persistence::RouteRow& row);

// The admin view of a route; values of credential-like headers are redacted.
nlohmann::json route_to_json(const RouteConfig& route);

// Fields of the admin view that are not route fields; ignored when a client sends them back.
bool is_read_only_route_field(std::string_view key) noexcept;

}  // namespace gatewayd::admin
