#pragma once
// Wires the process together: workers, admin listener, config reloads, signals, shutdown.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gatewayd/config.hpp"
#include "gatewayd/records.hpp"
#include "gatewayd/settings.hpp"
#include "server/server_state.hpp"

namespace gatewayd {

class AdminServer;
class ConfigWatcher;
class Worker;
namespace metrics {
class Counter;
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
  std::string reload(std::string_view trigger);

  std::shared_ptr<const Config> current_config() const;
  const Settings& settings() const noexcept { return settings_; }

 private:
  void start_workers();
  void start_admin();
  void watch_signals();
  void begin_shutdown(int signal_number);
  void finish_shutdown_when_drained();

  Settings settings_;
  ServerState state_;
  std::unique_ptr<RecordSink> records_;
  boost::asio::io_context control_{1};
  boost::asio::signal_set signals_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<ConfigWatcher> watcher_;
  mutable std::mutex config_mutex_;
  std::shared_ptr<const Config> config_;
  std::chrono::steady_clock::time_point drain_deadline_{};
  metrics::Counter* reload_ok_ = nullptr;
  metrics::Counter* reload_failed_ = nullptr;
  bool shutting_down_ = false;
};

}  // namespace gatewayd
