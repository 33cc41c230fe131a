#include "server/builtin_handlers.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "gatewayd/metrics.hpp"
#include "server/worker.hpp"

namespace gatewayd {

namespace http = boost::beast::http;

#ifndef GATEWAYD_VERSION
#define GATEWAYD_VERSION "0.0.0"
#endif

bool is_builtin_path(std::string_view path) noexcept {
  return path == "/health" || path == "/ready" || path == "/metrics";
}

namespace {

http::response<http::string_body> json_response(http::status status, const nlohmann::json& body) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = body.dump();
  return res;
}

http::response<http::string_body> health(Worker& worker) {
  const auto& state = worker.state();
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state.started).count();
  return json_response(http::status::ok, {{"status", "healthy"},
                                          {"version", GATEWAYD_VERSION},
                                          {"uptime_seconds", uptime},
                                          {"node_id", state.settings.node_id},
                                          {"environment", state.settings.environment}});
}

http::response<http::string_body> ready(Worker& worker) {
  auto& state = worker.state();
  nlohmann::json checks = nlohmann::json::object();
  std::vector<std::string> missing;
  bool ok = true;
  bool degraded = false;

  const bool draining = state.draining.load(std::memory_order_relaxed);
  checks["shutdown"] = draining ? "draining" : "ok";
  if (draining) {
    ok = false;
    missing.emplace_back("shutting down");
  }
  const bool config = state.config_loaded.load(std::memory_order_relaxed) && worker.config();
  checks["config"] = config ? "ok" : "not loaded";
  if (!config) {
    ok = false;
    missing.emplace_back("config");
  }
  const unsigned running = state.workers_running.load(std::memory_order_relaxed);
  checks["workers"] = std::to_string(running) + "/" + std::to_string(state.workers_expected);
  if (running < state.workers_expected) {
    ok = false;
    missing.emplace_back("workers");
  }
  for (const auto& check : state.readiness) {
    const auto [s, detail] = check.probe();
    switch (s) {
      case ReadinessCheck::State::kReady:
        checks[check.name] = detail.empty() ? "ok" : detail;
        break;
      case ReadinessCheck::State::kDegraded:
        checks[check.name] = "degraded: " + detail;
        degraded = true;
        break;
      case ReadinessCheck::State::kNotReady:
        checks[check.name] = "not ready: " + detail;
        missing.push_back(check.name);
        ok = false;
        break;
    }
  }
  nlohmann::json body{{"status", ok ? (degraded ? "degraded" : "ready") : "not_ready"},
                      {"checks", checks}};
  if (!missing.empty()) body["missing"] = missing;
  return json_response(ok ? http::status::ok : http::status::service_unavailable, body);
}

http::response<http::string_body> metrics_page() {
  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.body() = metrics::Registry::global().render();
  return res;
}

}  // namespace

http::response<http::string_body> builtin_response(std::string_view path, Worker& worker) {
  if (path == "/health") return health(worker);
  if (path == "/ready") return ready(worker);
  return metrics_page();
}

}  // namespace gatewayd
