#include "admin_test_support.hpp"

#include "config/config_loader.hpp"

namespace gatewayd::test {

using nlohmann::json;

namespace {

constexpr const char* kServices = R"(
services:
  users:
    instances:
      - url: http://127.0.0.1:18001
  orders:
    instances:
      - url: http://127.0.0.1:18002
)";

constexpr const char* kRoutes = R"(
routes:
  - name: file-users
    path: /users
    service: users
    methods: [GET, POST]
    headers:
      Authorization: Bearer file-secret-value
      X-Team: platform
  - path: /health-file
    service: users
)";

}  // namespace

FakeApp::FakeApp() {
  file_config_ = parse_config(kRoutes, kServices);
  live_ = file_config_;
  cors_ = {{"enabled", true}, {"allowed_origins", json::array({"*"})}};
}

std::shared_ptr<const Config> FakeApp::config() const {
  std::lock_guard lock(mutex_);
  return live_;
}

std::optional<RouteConfig> FakeApp::route_named(const std::string& name) const {
  const auto config = this->config();
  for (const auto& r : config->routes) {
    if (r.name == name) return r;
  }
  return std::nullopt;
}

std::vector<std::string> FakeApp::circuit_resets() const {
  std::lock_guard lock(mutex_);
  return circuit_resets_;
}

AdminApiDeps FakeApp::deps(std::optional<MySqlOptions> mysql) {
  AdminApiDeps d;
  d.current_config = [this] { return config(); };
  d.publish_routes = [this](std::vector<RouteConfig> routes) -> std::string {
    ++publishes;
    if (reject_publish) return "routes.yaml changed meanwhile";
    try {
      auto merged = admin::merge_api_routes(*file_config_, std::move(routes), true);
      std::lock_guard lock(mutex_);
      live_ = merged.config;
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  d.records = &sink;
  d.mysql = std::move(mysql);
  d.on_rules_changed = [this] { ++rules_changed; };
  d.on_api_keys_changed = [this] { ++api_keys_changed; };
  d.services = [] {
    return json::array(
        {{{"name", "users"},
          {"instances", json::array({{{"url", "http://127.0.0.1:18001"}, {"healthy", true}}})},
          {"circuit", {{"state", "open"}}}},
         {{"name", "orders"}, {"instances", json::array()}}});
  };
  d.reset_circuit = [this](const std::string& name) {
    if (name != "users" && name != "orders") return false;
    std::lock_guard lock(mutex_);
    circuit_resets_.push_back(name);
    return true;
  };
  d.cors = [this] {
    std::lock_guard lock(mutex_);
    return cors_;
  };
  d.update_cors = [this](const json& body) -> std::vector<admin::FieldError> {
    const auto it = body.find("allowed_origins");
    if (it == body.end() || !it->is_array()) {
      return {{"allowed_origins", "expected a list of origins"}};
    }
    std::lock_guard lock(mutex_);
    cors_["allowed_origins"] = *it;
    return {};
  };
  d.reload = [this]() -> std::string {
    ++reloads;
    return reject_reload ? "routes.yaml:3: routes[0]: path: is required" : "";
  };
  d.settings = [] {
    return std::map<std::string, std::string>{{"MYSQL_PASSWORD", "REDACTED"}, {"PORT", "8001"}};
  };
  return d;
}

AdminHarness::AdminHarness(FakeApp& app, std::optional<MySqlOptions> mysql) {
  server_ = std::make_unique<AdminServer>("127.0.0.1", 0, kAdminToken);
  register_admin_api(*server_, app.deps(std::move(mysql)));
  server_->start();
}

AdminHarness::~AdminHarness() {
  server_->stop();
}

HttpResponse AdminHarness::call(const std::string& method, const std::string& target,
                                const std::string& body, const std::string& token) {
  HttpRequestSpec spec;
  spec.method = method;
  spec.target = target;
  spec.body = body;
  if (!token.empty()) spec.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) spec.headers.emplace_back("Content-Type", "application/json");
  return http_request(server_->port(), spec);
}

json json_of(const HttpResponse& response) {
  return json::parse(response.body, nullptr, false);
}

}  // namespace gatewayd::test
