#pragma once
// Loading and validation of routes.yaml and services.yaml into an immutable Config with its
// compiled Router. Everything here runs off the event loop and reports problems by throwing
// ConfigError with a message naming the file, the entry and the field.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "gatewayd/config.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd {

// Values a route or service gets for fields it does not set; from the settings by default.
struct ConfigDefaults {
  LbStrategy lb = LbStrategy::kRoundRobin;
  std::chrono::milliseconds route_timeout{30'000};
  std::chrono::milliseconds connect_timeout{5'000};
  RetryPolicy retry;  // retry_count 0 unless the settings enable retries
  CircuitBreakerPolicy circuit_breaker;
  OutlierPolicy outlier;
  RetryBudgetPolicy retry_budget;

  // LOAD_BALANCER_STRATEGY, UPSTREAM_CONNECT_TIMEOUT_MS, RETRY_*, CIRCUIT_BREAKER_*.
  static ConfigDefaults from_settings(const Settings& settings);
};

// <config_dir>/<routes_file> and <config_dir>/<services_file>.
std::string routes_path(const Settings& settings);
std::string services_path(const Settings& settings);

// Reads the two files named by the settings.
std::shared_ptr<const Config> load_config(const Settings& settings);

// Reads two explicit files.
std::shared_ptr<const Config> load_config(const std::string& routes_file,
                                          const std::string& services_file,
                                          const ConfigDefaults& defaults = {});

// Parses YAML texts; the names only appear in error messages.
std::shared_ptr<const Config> parse_config(std::string_view routes_yaml,
                                           std::string_view services_yaml,
                                           const ConfigDefaults& defaults = {},
                                           std::string_view routes_name = "routes.yaml",
                                           std::string_view services_name = "services.yaml");

// Validates a Config assembled in code (for example file routes merged with routes from the
// database), derives each route's MatchKind from its pattern and compiles the router. The
// same checks as for files apply; `RouteConfig::source` / `ServiceConfig::source` prefix the
// error messages. Config::generation is kept.
std::shared_ptr<const Config> finalize_config(Config config);

// "round_robin" ... ; nullopt for an unknown name.
std::optional<LbStrategy> parse_lb_strategy(std::string_view name);
std::string_view lb_strategy_name(LbStrategy lb) noexcept;

}  // namespace gatewayd
