#include "admin/routes_api.hpp"

#include <algorithm>

#include "admin/route_json.hpp"
#include "admin/route_merge.hpp"
#include "persistence/route_store.hpp"

namespace gatewayd::admin {
namespace {

using nlohmann::json;
using persistence::RouteRow;

json view(const RouteConfig& route, bool is_active) {
  json j = route_to_json(route);
  j["is_active"] = is_active;
  return j;
}

std::vector<std::string> service_names(const Config& config) {
  std::vector<std::string> names;
  for (const auto& [name, service] : config.services) names.push_back(name);
  return names;
}

// The API routes of a live config, without the one being changed.
std::vector<RouteConfig> live_api_routes(const Config& config, std::uint64_t except_id) {
  std::vector<RouteConfig> out;
  for (const auto& route : config.routes) {
    const auto id = api_route_id(route);
    if (id && *id != except_id) out.push_back(route);
  }
  return out;
}

class RoutesApi {
 public:
  explicit RoutesApi(std::shared_ptr<AdminContext> ctx) : ctx_(std::move(ctx)) {}

  AdminResponse list(const AdminRequest&) const;
  AdminResponse get(const AdminRequest& req) const;
  AdminResponse create(const AdminRequest& req) const;
  AdminResponse update(const AdminRequest& req) const;
  AdminResponse remove(const AdminRequest& req) const;

 private:
  // The API route id that {id} names, or the answer (404, 409 for a file route, 503).
  std::variant<std::uint64_t, AdminResponse> resolve(const AdminRequest& req) const;
  std::optional<RouteRow> find_row_by_name(const std::string& name) const;
  // Parses a route object; the answer is a 400 naming the field.
  std::variant<RouteConfig, AdminResponse> parse(const json& object, const Config& config) const;
  // Would the live config accept `candidates` as its API routes? `route` is the one changed.
  // An inactive route only has to keep its name to itself.
  std::optional<AdminResponse> check(const Config& config, const RouteConfig& route,
                                     std::uint64_t id, std::vector<RouteConfig> candidates,
                                     bool is_active) const;
  std::optional<AdminResponse> publish(std::vector<RouteConfig> api_routes) const;

  persistence::RouteStore store() const { return persistence::RouteStore(*ctx_->db()); }

  std::shared_ptr<AdminContext> ctx_;
};

AdminResponse RoutesApi::list(const AdminRequest&) const {
  const auto config = ctx_->config();
  json routes = json::array();
  for (const auto& route : config->routes) routes.push_back(view(route, true));
  // Inactive API routes are not in the live config; show them so they can be found again.
  if (ctx_->db()) {
    auto rows = store().list(false);
    if (!rows.ok()) return database_error(*rows.error);
    for (const auto& row : rows.value) {
      if (row.is_active) continue;
      auto parsed = parse_route_object(object_from_row(row), service_names(*config),
                                       ctx_->deps().config_defaults);
      if (auto* route = std::get_if<RouteConfig>(&parsed)) {
        route->source = api_route_source(row.id);
        routes.push_back(view(*route, false));
      }
    }
  }
  return json_response(
      200, {{"routes", routes}, {"count", routes.size()}, {"generation", config->generation}});
}

AdminResponse RoutesApi::get(const AdminRequest& req) const {
  const auto config = ctx_->config();
  const std::string key(req.param("id"));
  const auto id = parse_id(key);
  for (const auto& route : config->routes) {
    if (id ? api_route_id(route) == id : route.name == key)
      return json_response(200, view(route, true));
  }
  if (!ctx_->db()) return not_found("route");
  std::optional<RouteRow> row;
  if (id) {
    auto found = store().find(*id);
    if (!found.ok()) return database_error(*found.error);
    row = std::move(found.value);
  } else {
    row = find_row_by_name(key);
  }
  if (!row) return not_found("route");
  auto parsed = parse_route_object(object_from_row(*row), service_names(*config),
                                   ctx_->deps().config_defaults);
  if (auto* error = std::get_if<FieldError>(&parsed)) {
    // Stored, but no longer valid (its service was removed, say): show what is stored.
    json j = object_from_row(*row);
    j["id"] = row->id;
    j["source"] = "api";
    j["is_active"] = row->is_active;
    j["problem"] = error->field + ": " + error->message;
    return json_response(200, j);
  }
  auto& route = std::get<RouteConfig>(parsed);
  route.source = api_route_source(row->id);
  return json_response(200, view(route, row->is_active));
}

AdminResponse RoutesApi::create(const AdminRequest& req) const {
  if (!ctx_->db()) return database_disabled();
  auto body = body_object(req);
  if (auto* answer = std::get_if<AdminResponse>(&body)) return *answer;
  json object = std::get<json>(std::move(body));
  bool is_active = true;
  if (const auto it = object.find("is_active"); it != object.end()) {
    if (!it->is_boolean()) return bad_request({{"is_active", "expected true or false"}});
    is_active = it->get<bool>();
  }
  for (auto it = object.begin(); it != object.end();) {
    it = is_read_only_route_field(it.key()) ? object.erase(it) : std::next(it);
  }
  const auto config = ctx_->config();
  auto parsed = parse(object, *config);
  if (auto* answer = std::get_if<AdminResponse>(&parsed)) return *answer;
  auto route = std::get<RouteConfig>(std::move(parsed));
  route.source = api_route_source(0);  // not stored yet

  auto candidates = live_api_routes(*config, 0);
  if (auto answer = check(*config, route, 0, std::move(candidates), is_active)) return *answer;

  auto inserted = store().insert(row_from_route(route, object, is_active));
  if (!inserted.ok()) {
    if (inserted.error->code == persistence::kMySqlDuplicateEntry) {
      return conflict("CONFLICT", "a route with this name, or this path and these methods, exists");
    }
    return database_error(*inserted.error);
  }
  const std::uint64_t id = inserted.value;
  route.source = api_route_source(id);
  if (is_active) {
    auto candidates = live_api_routes(*config, 0);
    candidates.push_back(route);
    if (auto answer = publish(std::move(candidates))) {
      store().remove(id);
      return *answer;
    }
  }
  ctx_->audit(req, "admin.route.created",
              {{"id", id}, {"name", route.name}, {"path", route.path}, {"service", route.service}});
  return json_response(201, view(route, is_active));
}

AdminResponse RoutesApi::update(const AdminRequest& req) const {
  auto resolved = resolve(req);
  if (auto* answer = std::get_if<AdminResponse>(&resolved)) return *answer;
  const std::uint64_t id = std::get<std::uint64_t>(resolved);
  auto found = store().find(id);
  if (!found.ok()) return database_error(*found.error);
  if (!found.value) return not_found("route");
  const RouteRow old = *found.value;

  auto body = body_object(req);
  if (auto* answer = std::get_if<AdminResponse>(&body)) return *answer;
  const json changes = std::get<json>(std::move(body));
  bool is_active = old.is_active;
  if (const auto it = changes.find("is_active"); it != changes.end()) {
    if (!it->is_boolean()) return bad_request({{"is_active", "expected true or false"}});
    is_active = it->get<bool>();
  }
  const auto config = ctx_->config();
  json object = object_from_row(old);
  // A name the loader derived ("GET /x") follows the new methods and path, unless one is given.
  if (!changes.contains("name")) {
    json unnamed = object;
    unnamed.erase("name");
    auto derived =
        parse_route_object(unnamed, service_names(*config), ctx_->deps().config_defaults);
    if (auto* r = std::get_if<RouteConfig>(&derived); r && r->name == old.name) {
      object.erase("name");
    }
  }
  for (const auto& [key, value] : changes.items()) {
    if (is_read_only_route_field(key)) continue;
    // "rewrite" is another spelling of rewrite_path: keep only the one the client sent.
    if (key == "rewrite") object.erase("rewrite_path");
    if (key == "rewrite_path") object.erase("rewrite");
    object[key] = value;
  }
  auto parsed = parse(object, *config);
  if (auto* answer = std::get_if<AdminResponse>(&parsed)) return *answer;
  auto route = std::get<RouteConfig>(std::move(parsed));
  route.source = api_route_source(id);

  auto candidates = live_api_routes(*config, id);
  if (auto answer = check(*config, route, id, candidates, is_active)) return *answer;
  if (is_active) candidates.push_back(route);

  RouteRow row = row_from_route(route, object, is_active);
  row.id = id;
  auto updated = store().update(row);
  if (!updated.ok()) {
    if (updated.error->code == persistence::kMySqlDuplicateEntry) {
      return conflict("CONFLICT", "a route with this name, or this path and these methods, exists");
    }
    return database_error(*updated.error);
  }
  if (!updated.value) return not_found("route");
  if (is_active || old.is_active) {
    if (auto answer = publish(std::move(candidates))) {
      store().update(old);
      return *answer;
    }
  }
  ctx_->audit(req, "admin.route.updated",
              {{"id", id}, {"name", route.name}, {"path", route.path}, {"service", route.service}});
  return json_response(200, view(route, is_active));
}

AdminResponse RoutesApi::remove(const AdminRequest& req) const {
  auto resolved = resolve(req);
  if (auto* answer = std::get_if<AdminResponse>(&resolved)) return *answer;
  const std::uint64_t id = std::get<std::uint64_t>(resolved);
  auto found = store().find(id);
  if (!found.ok()) return database_error(*found.error);
  if (!found.value) return not_found("route");
  const RouteRow old = *found.value;
  auto removed = store().remove(id);
  if (!removed.ok()) return database_error(*removed.error);
  if (!removed.value) return not_found("route");
  if (old.is_active) {
    if (auto answer = publish(live_api_routes(*ctx_->config(), id))) {
      store().insert(old);
      return *answer;
    }
  }
  ctx_->audit(req, "admin.route.deleted", {{"id", id}, {"name", old.name}, {"path", old.path}});
  return json_response(200, {{"deleted", id}, {"name", old.name}});
}

std::variant<std::uint64_t, AdminResponse> RoutesApi::resolve(const AdminRequest& req) const {
  const std::string key(req.param("id"));
  const auto id = parse_id(key);
  if (!id) {
    for (const auto& route : ctx_->config()->routes) {
      if (route.name != key) continue;
      if (const auto api_id = api_route_id(route)) return *api_id;
      return conflict("READ_ONLY",
                      "route '" + key + "' comes from the routes file; edit the file instead",
                      {{"source", route.source}});
    }
  }
  if (!ctx_->db()) return database_disabled();
  if (id) return *id;
  if (auto row = find_row_by_name(key)) return row->id;
  return not_found("route");
}

std::optional<RouteRow> RoutesApi::find_row_by_name(const std::string& name) const {
  auto rows = store().list(false);
  if (!rows.ok()) return std::nullopt;
  for (auto& row : rows.value) {
    if (row.name == name) return std::move(row);
  }
  return std::nullopt;
}

std::variant<RouteConfig, AdminResponse> RoutesApi::parse(const json& object,
                                                          const Config& config) const {
  auto parsed = parse_route_object(object, service_names(config), ctx_->deps().config_defaults);
  if (auto* error = std::get_if<FieldError>(&parsed)) return bad_request({*error});
  return std::get<RouteConfig>(std::move(parsed));
}

std::optional<AdminResponse> RoutesApi::check(const Config& config, const RouteConfig& route,
                                              std::uint64_t id, std::vector<RouteConfig> candidates,
                                              bool is_active) const {
  for (const auto& other : config.routes) {
    if (other.name != route.name) continue;
    const auto other_id = api_route_id(other);
    if (other_id && *other_id == id && id != 0) continue;
    const std::string owner = other_id ? "API route id=" + std::to_string(*other_id)
                                       : "the routes file (" + other.source + ")";
    return conflict("CONFLICT", "route name '" + route.name + "' is already used",
                    {{"fields", {{"name", "already used by " + owner}}}});
  }
  if (!is_active) return std::nullopt;
  candidates.push_back(route);
  try {
    merge_api_routes(config, std::move(candidates), true);
    return std::nullopt;
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    if (!message.starts_with(route.source + " ") && !message.starts_with(route.source + ":")) {
      return conflict("CONFLICT", "the route set would be invalid", {{"reason", message}});
    }
    const FieldError error = field_error_from(message, route.source, route.path);
    if (error.message.find("duplicate route") != std::string::npos ||
        error.message.find("already used") != std::string::npos) {
      return conflict("CONFLICT", error.field + ": " + error.message,
                      {{"fields", {{error.field, error.message}}}});
    }
    return bad_request({error});
  }
}

std::optional<AdminResponse> RoutesApi::publish(std::vector<RouteConfig> api_routes) const {
  if (!ctx_->deps().publish_routes) return std::nullopt;
  const std::string error = ctx_->deps().publish_routes(std::move(api_routes));
  if (error.empty()) return std::nullopt;
  return conflict("CONFIG_REJECTED", "the merged configuration was rejected; nothing changed",
                  {{"reason", error}});
}

}  // namespace

void register_routes_api(AdminServer& server, std::shared_ptr<AdminContext> context) {
  auto api = std::make_shared<const RoutesApi>(std::move(context));
  server.handle("GET", "/admin/routes", [api](const AdminRequest& r) { return api->list(r); });
  server.handle("POST", "/admin/routes", [api](const AdminRequest& r) { return api->create(r); });
  server.handle("GET", "/admin/routes/{id}", [api](const AdminRequest& r) { return api->get(r); });
  server.handle("PUT", "/admin/routes/{id}",
                [api](const AdminRequest& r) { return api->update(r); });
  server.handle("DELETE", "/admin/routes/{id}",
                [api](const AdminRequest& r) { return api->remove(r); });
}

}  // namespace gatewayd::admin
