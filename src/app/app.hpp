#pragma once
// Wires the process together: records pipeline, endpoint state and health checks, discovery,
// rate limiting, workers, admin listener, config reloads, signals and shutdown.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clients/mysql_options.hpp"
#include "gatewayd/config.hpp"
#include "gatewayd/records.hpp"
#include "gatewayd/settings.hpp"
#include "server/server_state.hpp"
#include "server/worker.hpp"

namespace gatewayd {

class AdminServer;
class CorsPolicyHolder;
class ConfigWatcher;
namespace metrics {
class Counter;
}
namespace persistence {
class PersistenceService;
}
namespace upstream {
class EndpointRegistry;
class HealthChecker;
}  // namespace upstream
namespace discovery {
class DiscoveryRegistry;
class DiscoveryService;
}  // namespace discovery
namespace ratelimit {
class RateLimitService;
class RateLimiter;
}  // namespace ratelimit
namespace auth {
class AuthRuntime;
}
namespace tracing {
class SpanExporter;
}

class App {
 public:
  explicit App(Settings settings);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Starts everything and blocks until SIGTERM/SIGINT drained the process. Start-up failures
  // throw with a message for the operator.
  int run();

  // Parses and validates a new config off the event loops and publishes it atomically; on
  // failure the running config keeps serving. Returns the error message, empty on success.
  std::string reload(std::string_view trigger, bool refresh_database = false);

  std::shared_ptr<const Config> current_config() const;
  const Settings& settings() const noexcept { return settings_; }

 private:
  void start_records();
  void start_discovery();
  void start_auth();
  void start_tracing();
  void start_rate_limiting();
  void start_database_refresh();
  void refresh_database_state();
  // Publishes the `routes` table's rows when they differ from the ones serving (lenient merge,
  // like a reload); keeps the previous routes when the merge fails.
  void adopt_table_routes(std::vector<RouteConfig> table_routes);
  // Publishes `api_routes` merged with the last valid file config (admin route changes).
  std::string publish_api_routes(std::vector<RouteConfig> api_routes);
  // With publish_mutex_ held: serves `api_routes` merged with the file config (strict or lenient
  // merge); on failure the previous API routes stay and the error is returned.
  std::string swap_api_routes_locked(std::vector<RouteConfig> api_routes, bool strict);
  // The file config merged with the API routes, checked against the auth settings. Throws
  // with the reason when the result must not be served.
  std::shared_ptr<const Config> merge_with_api_routes(const Config& file_config, bool strict);
  void start_workers();
  void start_admin();
  void register_readiness();
  void watch_signals();
  void begin_shutdown(int signal_number);
  void finish_shutdown_when_drained();
  void stop_components();

  // Builds the worker snapshot of `config` (services merged with discovered endpoints) and
  // hands it to every worker and to the health checker. Callers hold publish_mutex_.
  void publish_locked(std::shared_ptr<const Config> config);
  // Rebuilds the snapshot of the current config after a discovery change.
  void republish();
  Snapshot build_snapshot(const std::shared_ptr<const Config>& config);
  // Client TLS contexts for the config's https:// services; throws when a file is unusable.
  std::shared_ptr<const UpstreamTls> build_upstream_tls(const Config& config);
  // SIGHUP: re-reads TLS_CERT_FILE/TLS_KEY_FILE (and the client CA); new handshakes use the new
  // context, open connections keep theirs. A bad file keeps the previous context.
  void reload_listener_tls();

  Settings settings_;
  ServerState state_;
  boost::asio::io_context control_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      control_work_;
  std::thread control_thread_;
  boost::asio::signal_set signals_;

  std::shared_ptr<persistence::PersistenceService> persistence_;
  std::unique_ptr<upstream::EndpointRegistry> endpoints_;
  std::unique_ptr<upstream::HealthChecker> health_;
  std::unique_ptr<discovery::DiscoveryRegistry> discovery_registry_;
  std::unique_ptr<discovery::DiscoveryService> discovery_;
  std::shared_ptr<CorsPolicyHolder> cors_;
  std::unique_ptr<auth::AuthRuntime> auth_;
  std::unique_ptr<tracing::SpanExporter> spans_;
  std::shared_ptr<ratelimit::RateLimitService> rate_limit_;
  std::vector<std::shared_ptr<ratelimit::RateLimiter>> limiters_;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<ConfigWatcher> watcher_;

  std::mutex publish_mutex_;  // one reload or republish at a time
  mutable std::mutex config_mutex_;
  std::shared_ptr<const Config> config_;
  Snapshot snapshot_;                                // guarded by publish_mutex_
  std::shared_ptr<const UpstreamTls> upstream_tls_;  // guarded by publish_mutex_
  std::shared_ptr<const Config> file_config_;  // last valid routes/services files; publish_mutex_
  std::vector<RouteConfig> api_routes_;  // active routes of the `routes` table; publish_mutex_
  std::optional<MySqlOptions> mysql_;    // set when MYSQL_ENABLED
  std::shared_ptr<const upstream::ServiceTable> live_services_;  // guarded by config_mutex_
  std::promise<void> shutdown_requested_;  // set on the control thread once drained

  // API keys and rate-limit rules of the database are re-read every API_KEY_CACHE_TTL_SECONDS
  // on their own thread, so other replicas' admin changes arrive without a restart.
  std::thread db_refresh_thread_;
  std::mutex db_refresh_mutex_;
  std::condition_variable db_refresh_cv_;
  bool db_refresh_stop_ = false;

  std::chrono::steady_clock::time_point drain_deadline_{};
  metrics::Counter* reload_ok_ = nullptr;
  metrics::Counter* reload_failed_ = nullptr;
  bool shutting_down_ = false;
};

}  // namespace gatewayd
