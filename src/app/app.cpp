#include "app/app.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "admin/admin_server.hpp"
#include "app/config_watcher.hpp"
#include "config/config_loader.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"
#include "server/worker.hpp"

namespace gatewayd {

namespace asio = boost::asio;

namespace {
constexpr auto kDrainPoll = std::chrono::milliseconds(50);
}

App::App(Settings settings)
    : settings_(std::move(settings)), state_(settings_), signals_(control_) {
  auto& registry = metrics::Registry::global();
  reload_ok_ = &registry.counter("gatewayd_config_reloads_total", "Config reloads by result",
                                 {{"result", "success"}});
  reload_failed_ = &registry.counter("gatewayd_config_reloads_total", "Config reloads by result",
                                     {{"result", "failure"}});
  records_ = std::make_unique<NullRecordSink>();
  state_.records = records_.get();
}

App::~App() {
  for (auto& w : workers_) w->force_stop();
  for (auto& w : workers_) w->join();
  if (admin_) admin_->stop();
}

std::shared_ptr<const Config> App::current_config() const {
  std::lock_guard lock(config_mutex_);
  return config_;
}

std::string App::reload(std::string_view trigger) {
  // One reload at a time; parsing happens on the calling (control or admin) thread, never on a
  // worker loop, and the workers swap to the new snapshot between requests.
  static std::mutex reload_mutex;
  std::lock_guard serial(reload_mutex);
  try {
    auto config = load_config(settings_);
    {
      std::lock_guard lock(config_mutex_);
      config_ = config;
    }
    for (auto& w : workers_) w->publish(config);
    reload_ok_->inc();
    logging::app().info("config reloaded ({}): {} routes, {} services", trigger,
                        config->routes.size(), config->services.size());
    return {};
  } catch (const std::exception& ex) {
    reload_failed_->inc();
    logging::app().error("config reload ({}) rejected, previous config keeps serving: {}",
                         trigger, ex.what());
    return ex.what();
  }
}

void App::start_workers() {
  unsigned count = settings_.workers;
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  state_.workers_expected = count;
  const auto address = asio::ip::make_address(settings_.host);
  std::uint16_t port = settings_.port;
  for (unsigned i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>(i, state_, config_);
    // With PORT=0 the first worker picks the port and the others share it.
    worker->listen({address, port});
    port = worker->bound_port();
    workers_.push_back(std::move(worker));
  }
  metrics::Registry::global().gauge_callback(
      "gatewayd_upstream_pool_idle_connections", "Idle keep-alive connections to upstreams", {},
      [this] {
        double total = 0;
        for (const auto& w : workers_) total += static_cast<double>(w->pool().idle_count());
        return total;
      });
  for (auto& w : workers_) w->start();
  logging::app().info("gatewayd listening on {}:{} with {} worker(s), env {}", settings_.host,
                      port, count, settings_.environment);
}

void App::start_admin() {
  admin_ = std::make_unique<AdminServer>(settings_.admin_host, settings_.admin_port,
                                         settings_.admin_token);
  admin_->handle("POST", "/admin/reload", [this](const AdminRequest& req) {
    logging::log_audit("admin.reload", nlohmann::json{{"client_ip", req.client_ip}}.dump());
    const auto error = reload("admin");
    if (!error.empty()) {
      return AdminServer::error(400, "INVALID_CONFIG", "config rejected",
                                nlohmann::json{{"reason", error}}.dump());
    }
    const auto cfg = current_config();
    return AdminResponse{200, nlohmann::json{{"status", "reloaded"},
                                             {"routes", cfg->routes.size()},
                                             {"services", cfg->services.size()}}
                                  .dump()};
  });
  admin_->start();
  logging::app().info("admin API on {}:{}", settings_.admin_host, admin_->port());
}

void App::watch_signals() {
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.add(SIGHUP);
  signals_.async_wait([this](boost::system::error_code ec, int signal_number) {
    if (ec) return;
    if (signal_number == SIGHUP) {
      reload("SIGHUP");
      watch_signals();
      return;
    }
    begin_shutdown(signal_number);
  });
}

void App::begin_shutdown(int signal_number) {
  if (shutting_down_) return;
  shutting_down_ = true;
  logging::app().info("signal {} received: draining (grace {} s)", signal_number,
                      settings_.shutdown_grace_seconds);
  state_.draining.store(true);
  for (auto& w : workers_) w->begin_drain();
  drain_deadline_ =
      std::chrono::steady_clock::now() + std::chrono::seconds(settings_.shutdown_grace_seconds);
  finish_shutdown_when_drained();
}

void App::finish_shutdown_when_drained() {
  const bool drained = state_.connections.load() == 0;
  if (drained || std::chrono::steady_clock::now() >= drain_deadline_) {
    if (!drained) {
      logging::app().warn("grace period over: closing {} connection(s)", state_.connections.load());
    }
    for (auto& w : workers_) w->force_stop();
    control_.stop();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(control_, kDrainPoll);
  timer->async_wait([this, timer](boost::system::error_code) { finish_shutdown_when_drained(); });
}

int App::run() {
  std::filesystem::create_directories(settings_.data_directory);
  config_ = load_config(settings_);
  state_.config_loaded.store(true);
  start_workers();
  start_admin();
  if (settings_.watch_config) {
    const std::filesystem::path dir(settings_.config_dir);
    watcher_ = std::make_unique<ConfigWatcher>(
        control_, dir.string(), std::vector<std::string>{settings_.routes_file, settings_.services_file},
        [this] { reload("file change"); });
    try {
      watcher_->start();
    } catch (const std::exception& ex) {
      logging::app().warn("config file watching disabled: {}", ex.what());
    }
  }
  watch_signals();
  control_.run();
  for (auto& w : workers_) w->join();
  if (admin_) admin_->stop();
  logging::app().info("gatewayd stopped");
  return 0;
}

}  // namespace gatewayd
