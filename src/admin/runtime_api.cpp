#include "admin/runtime_api.hpp"

#include "admin/route_json.hpp"

namespace gatewayd::admin {
namespace {

using nlohmann::json;

AdminResponse not_available(std::string_view what) {
  return AdminServer::error(501, "NOT_IMPLEMENTED",
                            std::string(what) + " is not available in this gateway");
}

double seconds(std::chrono::milliseconds ms) {
  return static_cast<double>(ms.count()) / 1000.0;
}

json service_config_json(const ServiceConfig& s) {
  json instances = json::array();
  for (const auto& i : s.instances) {
    instances.push_back(
        {{"id", i.id}, {"url", i.url}, {"weight", i.weight}, {"healthy", i.healthy}});
  }
  const auto& hc = s.health_check;
  const auto& cb = s.circuit_breaker;
  return {{"name", s.name},
          {"load_balancer", std::string(lb_strategy_name(s.lb))},
          {"instances", instances},
          {"health_check",
           {{"enabled", hc.enabled},
            {"path", hc.path},
            {"interval", seconds(hc.interval)},
            {"timeout", seconds(hc.timeout)}}},
          {"circuit_breaker",
           {{"enabled", cb.enabled},
            {"failure_threshold", cb.failure_threshold},
            {"success_threshold", cb.success_threshold},
            {"timeout", seconds(cb.open_timeout)},
            {"half_open_max_requests", cb.half_open_max_requests}}}};
}

class RuntimeApi {
 public:
  explicit RuntimeApi(std::shared_ptr<AdminContext> ctx) : ctx_(std::move(ctx)) {}

  AdminResponse services(const AdminRequest&) const;
  AdminResponse service(const AdminRequest& req) const;
  AdminResponse reset(const AdminRequest& req) const;
  AdminResponse cors(const AdminRequest&) const;
  AdminResponse update_cors(const AdminRequest& req) const;
  AdminResponse config(const AdminRequest&) const;
  AdminResponse reload(const AdminRequest& req) const;

 private:
  json service_list() const;
  const AdminApiDeps& deps() const { return ctx_->deps(); }

  std::shared_ptr<AdminContext> ctx_;
};

json RuntimeApi::service_list() const {
  json list = deps().services ? deps().services() : json::array();
  return list.is_array() ? list : json::array();
}

AdminResponse RuntimeApi::services(const AdminRequest&) const {
  const json list = service_list();
  return json_response(200, {{"services", list}, {"count", list.size()}});
}

AdminResponse RuntimeApi::service(const AdminRequest& req) const {
  const std::string name(req.param("name"));
  for (const auto& s : service_list()) {
    if (s.is_object() && s.value("name", "") == name) return json_response(200, s);
  }
  return not_found("service '" + name + "'");
}

AdminResponse RuntimeApi::reset(const AdminRequest& req) const {
  const std::string name(req.param("name"));
  if (!deps().reset_circuit) return not_available("circuit reset");
  if (!deps().reset_circuit(name)) return not_found("service '" + name + "'");
  ctx_->audit(req, "admin.circuit.reset", {{"service", name}});
  return json_response(200, {{"service", name}, {"circuit", "closed"}});
}

AdminResponse RuntimeApi::cors(const AdminRequest&) const {
  if (!deps().cors) return not_available("CORS configuration");
  return json_response(200, deps().cors());
}

AdminResponse RuntimeApi::update_cors(const AdminRequest& req) const {
  if (!deps().update_cors || !deps().cors) return not_available("CORS configuration");
  auto body = body_object(req);
  if (auto* answer = std::get_if<AdminResponse>(&body)) return *answer;
  const json& object = std::get<json>(body);
  if (auto errors = deps().update_cors(object); !errors.empty()) return bad_request(errors);
  const json now = deps().cors();
  ctx_->audit(req, "admin.cors.updated", {{"cors", now}});
  return json_response(200, now);
}

AdminResponse RuntimeApi::config(const AdminRequest&) const {
  const auto config = ctx_->config();
  json routes = json::array();
  for (const auto& r : config->routes) routes.push_back(route_to_json(r));
  json services = json::array();
  for (const auto& [name, s] : config->services) services.push_back(service_config_json(s));
  json out = {{"generation", config->generation}, {"routes", routes}, {"services", services}};
  // Settings::redacted() already hides every secret (passwords, keys, tokens).
  if (deps().settings) out["settings"] = deps().settings();
  out["mysql_enabled"] = ctx_->db() != nullptr;
  return json_response(200, out);
}

AdminResponse RuntimeApi::reload(const AdminRequest& req) const {
  if (!deps().reload) return not_available("reload");
  const std::string error = deps().reload();
  ctx_->audit(req, "admin.reload",
              {{"result", error.empty() ? "success" : "rejected"}, {"reason", error}});
  if (!error.empty()) {
    return AdminServer::error(400, "INVALID_CONFIG", "config rejected; the previous one serves",
                              json{{"reason", error}}.dump());
  }
  const auto config = ctx_->config();
  return json_response(200, {{"status", "reloaded"},
                             {"generation", config->generation},
                             {"routes", config->routes.size()},
                             {"services", config->services.size()}});
}

}  // namespace

void register_runtime_api(AdminServer& server, std::shared_ptr<AdminContext> context) {
  auto api = std::make_shared<const RuntimeApi>(std::move(context));
  server.handle("GET", "/admin/services",
                [api](const AdminRequest& r) { return api->services(r); });
  server.handle("GET", "/admin/services/{name}",
                [api](const AdminRequest& r) { return api->service(r); });
  server.handle("POST", "/admin/services/{name}/reset",
                [api](const AdminRequest& r) { return api->reset(r); });
  server.handle("GET", "/admin/cors", [api](const AdminRequest& r) { return api->cors(r); });
  server.handle("PUT", "/admin/cors", [api](const AdminRequest& r) { return api->update_cors(r); });
  server.handle("GET", "/admin/config", [api](const AdminRequest& r) { return api->config(r); });
  server.handle("POST", "/admin/reload", [api](const AdminRequest& r) { return api->reload(r); });
}

}  // namespace gatewayd::admin
