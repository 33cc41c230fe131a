#pragma once
// The immutable route/service model loaded from config/routes.yaml and config/services.yaml.
// A Config is built and validated off the event loop, then published as a shared_ptr<const>;
// every request holds the snapshot it started with.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gatewayd {

class Router;

enum class MatchKind : std::uint8_t {
  kExact,     // the whole normalised path equals the pattern
  kPrefix,    // pattern then end-of-path or '/' (segment boundary): "/a/*", "/a/**", match: prefix
  kTemplate,  // literal and {param} segments, optionally ending in a wildcard
};

enum class LbStrategy : std::uint8_t { kRoundRobin, kWeighted, kLeastConnections, kRandom };

struct RetryPolicy {
  unsigned retry_count = 0;                    // extra attempts after the first
  std::chrono::milliseconds per_try_timeout{0};  // 0 = the route timeout
  std::vector<unsigned> retry_on_status{502, 503, 504};
  bool retry_non_idempotent = false;
  std::size_t retry_body_limit = 64 * 1024;
};

struct RouteConfig {
  std::string name;  // `name:` or, when absent, "<METHODS> <path>"; the metric label
  std::string path;  // the pattern as written
  MatchKind match = MatchKind::kExact;
  std::string service;                // a service name or "internal"
  std::vector<std::string> methods;   // upper-case; HEAD is implied by GET
  bool auth_required = true;
  std::optional<std::uint32_t> rate_limit;  // requests per minute
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{5'000};
  bool strip_prefix = false;                 // remove the literal prefix before forwarding
  std::optional<std::string> rewrite_path;   // replaces the matched path ({param} substituted)
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers upstream
  int priority = 0;
  std::optional<std::string> host;  // exact host, or "*.example.com"
  bool enabled = true;
  std::optional<std::uint64_t> max_body_bytes;  // unset = the global default
  RetryPolicy retry;
  bool forward_authorization = true;
  std::vector<std::string> auth_methods;      // "jwt", "api_key"; empty = both
  std::vector<std::string> required_roles;    // any-of
  std::vector<std::string> required_scopes;   // all-of
  std::vector<std::string> required_permissions;  // all-of

  // Where it came from, for error messages: "config/routes.yaml routes[3]".
  std::string source;
};

struct HealthCheckConfig {
  std::string path = "/health";
  std::chrono::milliseconds interval{30'000};
  std::chrono::milliseconds timeout{5'000};
  unsigned healthy_threshold = 2;
  unsigned unhealthy_threshold = 3;
  bool enabled = false;  // true when `health_check:` is given
};

struct InstanceConfig {
  std::string url;     // as written: http://host:port
  std::string scheme;  // "http" or "https"
  std::string host;
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  bool healthy = true;
  std::string id;  // "host:port"
};

struct ServiceConfig {
  std::string name;
  std::vector<InstanceConfig> instances;
  LbStrategy lb = LbStrategy::kRoundRobin;
  HealthCheckConfig health_check;
  std::string source;
};

struct Config {
  std::vector<RouteConfig> routes;  // in file order
  std::map<std::string, ServiceConfig, std::less<>> services;
  std::shared_ptr<const Router> router;  // compiled over `routes`
  std::uint64_t generation = 0;          // increases with every published config
};

}  // namespace gatewayd
