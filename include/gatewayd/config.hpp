#pragma once
// The immutable route/service model loaded from config/routes.yaml and config/services.yaml.
// A Config is built and validated off the event loop, then published as a shared_ptr<const>;
// every request holds the snapshot it started with.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gatewayd {

class Router;
class CorsPolicy;  // config/cors_policy.hpp

enum class MatchKind : std::uint8_t {
  kExact,     // the whole normalised path equals the pattern
  kPrefix,    // pattern then end-of-path or '/' (segment boundary): "/a/*", "/a/**", match: prefix
  kTemplate,  // literal and {param} segments, optionally ending in a wildcard
};

enum class LbStrategy : std::uint8_t { kRoundRobin, kWeighted, kLeastConnections, kRandom };

struct RetryPolicy {
  unsigned retry_count = 0;                      // extra attempts after the first
  std::chrono::milliseconds per_try_timeout{0};  // 0 = the route timeout
  std::vector<unsigned> retry_on_status{502, 503, 504};
  bool retry_non_idempotent = false;
  std::size_t retry_body_limit = 64 * 1024;
  // Full-jitter exponential backoff: a retry waits a random time in
  // [0, min(backoff_max, backoff_base * backoff_multiplier^n)], n = 0 for the first retry.
  std::chrono::milliseconds backoff_base{25};    // RETRY_BASE_MS
  std::chrono::milliseconds backoff_max{1'000};  // RETRY_MAX_MS (RETRY_MAX_DELAY_SECONDS)
  double backoff_multiplier = 2.0;               // RETRY_BACKOFF_FACTOR
  bool retry_on_connect_failure = true;
  bool retry_on_timeout = true;  // a per-try timeout, never the route deadline
};

// Per service: retries may add at most `budget_percent` of the requests seen over `window`,
// but at least `min_retries_per_second` (so a quiet service can still retry).
struct RetryBudgetPolicy {
  double budget_percent = 20.0;
  double min_retries_per_second = 3.0;
  std::chrono::milliseconds window{10'000};
};

// Per service; every endpoint of the service has a breaker with this policy and the service
// has one more fed with request-level outcomes. Defaults are CIRCUIT_BREAKER_*.
struct CircuitBreakerPolicy {
  bool enabled = true;                             // CIRCUIT_BREAKER_ENABLED
  std::uint32_t failure_threshold = 5;             // consecutive failures; 0 = off
  std::uint32_t success_threshold = 2;             // half-open successes that close it
  std::chrono::milliseconds open_timeout{60'000};  // CIRCUIT_BREAKER_TIMEOUT_SECONDS
  double open_timeout_jitter = 0.1;                // open lasts open_timeout * (1 + U[0, jitter])
  std::uint32_t half_open_max_requests = 3;        // CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS
  // Ratio trip: failures / requests over the sliding window, once at least
  // window_min_requests were seen. 0 = off.
  double failure_ratio = 0.5;
  std::uint32_t window_min_requests = 20;
  std::chrono::milliseconds window{10'000};
  // What counts as a failure.
  bool failure_on_connect_error = true;  // refused, reset, unreachable, TLS handshake
  bool failure_on_timeout = true;
  bool failure_on_protocol_error = true;  // malformed or truncated response
  bool failure_on_5xx = true;
  std::vector<unsigned> failure_statuses;  // more statuses that count (e.g. 429)
};

// Passive outlier ejection per service (Envoy-like). An endpoint is ejected for
// base_ejection_time * (times ejected), capped at max_ejection_time.
struct OutlierPolicy {
  bool enabled = true;
  std::uint32_t consecutive_5xx = 5;               // 0 = off
  std::uint32_t consecutive_gateway_failures = 5;  // connect errors and timeouts; 0 = off
  std::chrono::milliseconds base_ejection_time{30'000};
  std::chrono::milliseconds max_ejection_time{300'000};
  // At most this share of the service's endpoints ejected at once, but one may always be
  // (0 = never eject).
  double max_ejection_percent = 10.0;
};

struct RouteConfig {
  std::string name;  // `name:` or, when absent, "<METHODS> <path>"; the metric label
  std::string path;  // the pattern as written
  MatchKind match = MatchKind::kExact;
  std::string service;               // a service name or "internal"
  std::vector<std::string> methods;  // upper-case; HEAD is implied by GET
  bool auth_required = true;
  std::optional<std::uint32_t> rate_limit;  // requests per minute
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{5'000};
  bool strip_prefix = false;                // remove the literal prefix before forwarding
  std::optional<std::string> rewrite_path;  // replaces the matched path ({param} substituted)
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers upstream
  int priority = 0;
  std::optional<std::string> host;  // exact host, or "*.example.com"
  bool enabled = true;
  std::optional<std::uint64_t> max_body_bytes;  // unset = the global default
  RetryPolicy retry;
  bool forward_authorization = true;
  std::vector<std::string> auth_methods;          // "jwt", "api_key"; empty = both
  std::vector<std::string> required_roles;        // any-of
  std::vector<std::string> required_scopes;       // all-of
  std::vector<std::string> required_permissions;  // all-of
  // `cors:` of the route: replaces the global CORS policy for this route's preflights and
  // responses (a disabled one turns CORS off for the route). Null: the global policy applies.
  std::shared_ptr<const CorsPolicy> cors;

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
  // Inclusive status ranges that count as healthy; `expected_statuses: [200, "200-399"]`.
  // Empty means 200-399.
  std::vector<std::pair<unsigned, unsigned>> expected_statuses;
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

// TLS towards a service's https:// instances (services.yaml `tls_*` fields). Empty strings take
// the global UPSTREAM_* settings; verification is on unless the service turns it off.
struct UpstreamTlsConfig {
  bool verify = true;       // tls_verify: false skips certificate and host name checks
  std::string ca_file;      // tls_ca_file: PEM bundle trusted for this service
  std::string cert_file;    // tls_cert_file: client certificate (mTLS)
  std::string key_file;     // tls_key_file: its key
  std::string server_name;  // tls_server_name: SNI and verified name instead of the URL host
  bool configured() const noexcept {
    return !verify || !ca_file.empty() || !cert_file.empty() || !key_file.empty() ||
           !server_name.empty();
  }
};

struct ServiceConfig {
  std::string name;
  std::vector<InstanceConfig> instances;
  UpstreamTlsConfig tls;
  LbStrategy lb = LbStrategy::kRoundRobin;
  HealthCheckConfig health_check;
  CircuitBreakerPolicy circuit_breaker;
  OutlierPolicy outlier;
  RetryBudgetPolicy retry_budget;
  std::string source;
};

struct Config {
  std::vector<RouteConfig> routes;  // in file order
  std::map<std::string, ServiceConfig, std::less<>> services;
  // Compiled over `routes` and pointing into them: a copied Config must get a new router
  // (finalize_config in config/config_loader.hpp validates and compiles).
  std::shared_ptr<const Router> router;
  std::uint64_t generation = 0;  // increases with every published config
};

// Thrown by config loading and validation. The message names the file, the entry and the
// field, e.g. "config/routes.yaml:12: routes[3] path=/x: service: unknown service 'foo'".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace gatewayd
