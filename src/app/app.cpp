#include "app/app.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "admin/admin_api.hpp"
#include "admin/admin_loaders.hpp"
#include "admin/admin_server.hpp"
#include "admin/route_json.hpp"
#include "admin/route_merge.hpp"
#include "app/config_watcher.hpp"
#include "config/config_loader.hpp"
#include "discovery/discovery_options.hpp"
#include "discovery/discovery_registry.hpp"
#include "discovery/discovery_service.hpp"
#include "discovery/endpoint_set.hpp"
#include "filters/auth/auth_runtime.hpp"
#include "filters/rate_limit/rate_limit_filter.hpp"
#include "filters/rate_limit/rate_limit_service.hpp"
#include "filters/rate_limit/rate_limit_settings.hpp"
#include "filters/rate_limit/rate_limiter.hpp"
#include "filters/rate_limit/rule_file.hpp"
#include "filters/rate_limit/rule_table.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"
#include "observability/span_exporter.hpp"
#include "persistence/persistence_service.hpp"
#include "persistence/persistence_settings.hpp"
#include "server/cors_filter.hpp"
#include "server/tls_context.hpp"
#include "server/upstream_tls.hpp"
#include "upstream/circuit_observer.hpp"
#include "upstream/default_circuit_observer.hpp"
#include "upstream/endpoint_registry.hpp"
#include "upstream/health_checker.hpp"
#include "upstream/load_balancer.hpp"
#include "upstream/service_table.hpp"

namespace gatewayd {

namespace asio = boost::asio;

namespace {
constexpr auto kDrainPoll = std::chrono::milliseconds(50);
constexpr auto kRecordsStopDeadline = std::chrono::seconds(10);

ReadinessCheck::State to_state(bool ok, bool degraded_is_ready = true) {
  if (ok) return ReadinessCheck::State::kReady;
  return degraded_is_ready ? ReadinessCheck::State::kDegraded : ReadinessCheck::State::kNotReady;
}
// Routes that need keys the auth settings do not provide (a JWT route without any key source)
// must never be served: throws with every problem listed.
void refuse_unservable_routes(const auth::AuthRuntime& auth, const Config& config) {
  const auto problems = auth.check_routes(config);
  if (problems.empty()) return;
  std::string text = "routes cannot be served with the auth settings:";
  for (const auto& p : problems) text += "\n  " + p;
  throw std::runtime_error(text);
}
}  // namespace

App::App(Settings settings)
    : settings_(std::move(settings)), state_(settings_), signals_(control_) {
  auto& registry = metrics::Registry::global();
  reload_ok_ = &registry.counter("gatewayd_config_reloads_total", "Config reloads by result",
                                 {{"result", "success"}});
  reload_failed_ = &registry.counter("gatewayd_config_reloads_total", "Config reloads by result",
                                     {{"result", "failure"}});
}

App::~App() {
  for (auto& w : workers_) w->force_stop();
  for (auto& w : workers_) w->join();
  if (admin_) admin_->stop();
  stop_components();
  control_work_.reset();
  control_.stop();
  if (control_thread_.joinable()) control_thread_.join();
}

std::shared_ptr<const Config> App::current_config() const {
  std::lock_guard lock(config_mutex_);
  return config_;
}

Snapshot App::build_snapshot(const std::shared_ptr<const Config>& config) {
  // Discovered endpoints replace a service's services.yaml instances; its policies (load
  // balancing, health check, breaker) stay those of the config.
  upstream::ServiceTable::ServiceMap services = config->services;
  if (discovery_registry_) {
    for (auto& [name, service] : services) {
      if (auto set = discovery_registry_->current(name)) {
        service = discovery::with_endpoints(service, *set);
      }
    }
  }
  return Snapshot{config, upstream::ServiceTable::build(*endpoints_, services), upstream_tls_};
}

void App::publish_locked(std::shared_ptr<const Config> config) {
  snapshot_ = build_snapshot(config);
  {
    std::lock_guard lock(config_mutex_);
    config_ = std::move(config);
    live_services_ = snapshot_.services;
  }
  for (auto& w : workers_) w->publish(snapshot_);
  if (health_) health_->update(snapshot_.services->all(), snapshot_.upstream_tls);
}

void App::republish() {
  std::lock_guard serial(publish_mutex_);
  if (!snapshot_.config) return;
  publish_locked(snapshot_.config);
}

std::shared_ptr<const Config> App::merge_with_api_routes(const Config& file_config, bool strict) {
  auto merged = admin::merge_api_routes(file_config, api_routes_, strict);
  for (const auto& why : merged.dropped) {
    logging::app().warn("API route left out of the config: {}", why);
  }
  if (auth_) refuse_unservable_routes(*auth_, *merged.config);
  return merged.config;
}

std::string App::reload(std::string_view trigger, bool refresh_database) {
  // One reload at a time; parsing happens on the calling (control or admin) thread, never on a
  // worker loop, and the workers swap to the new snapshot between requests.
  std::lock_guard serial(publish_mutex_);
  try {
    auto file_config = load_config(settings_);
    if (refresh_database && mysql_) {
      auto loaded = admin::load_api_routes(*mysql_, ConfigDefaults::from_settings(settings_));
      if (loaded.ok()) {
        for (const auto& p : loaded.value.problems) logging::app().warn("routes table: {}", p);
        api_routes_ = std::move(loaded.value.items);
      } else {
        logging::app().warn("routes table not read ({}), keeping the {} API route(s) known",
                            loaded.error->describe(), api_routes_.size());
      }
    }
    auto config = merge_with_api_routes(*file_config, false);
    // TLS files of the services (and UPSTREAM_*) are re-read: an unusable one rejects the reload.
    auto upstream_tls = build_upstream_tls(*config);
    // The rules file belongs to the same reload: invalid rules reject it as a whole.
    if (rate_limit_) rate_limit_->set_file_rules(ratelimit::load_rule_file(settings_));
    upstream_tls_ = std::move(upstream_tls);
    if (discovery_) discovery_->set_services(config->services);
    file_config_ = std::move(file_config);
    publish_locked(config);
    reload_ok_->inc();
    logging::app().info("config reloaded ({}): {} routes, {} services", trigger,
                        config->routes.size(), config->services.size());
    return {};
  } catch (const std::exception& ex) {
    reload_failed_->inc();
    logging::app().error("config reload ({}) rejected, previous config keeps serving: {}", trigger,
                         ex.what());
    return ex.what();
  }
}

std::string App::publish_api_routes(std::vector<RouteConfig> api_routes) {
  std::lock_guard serial(publish_mutex_);
  if (!file_config_) return "no configuration loaded";
  return swap_api_routes_locked(std::move(api_routes), true);
}

std::string App::swap_api_routes_locked(std::vector<RouteConfig> api_routes, bool strict) {
  auto previous = std::move(api_routes_);
  api_routes_ = std::move(api_routes);
  try {
    auto config = merge_with_api_routes(*file_config_, strict);
    publish_locked(config);
    reload_ok_->inc();
    logging::app().info("API routes published: {} routes in total, {} API route(s)",
                        config->routes.size(), api_routes_.size());
    return {};
  } catch (const std::exception& ex) {
    api_routes_ = std::move(previous);
    reload_failed_->inc();
    return ex.what();
  }
}

std::shared_ptr<const UpstreamTls> App::build_upstream_tls(const Config& config) {
  std::vector<std::string> warnings;
  auto built = UpstreamTls::build(settings_, config, &warnings);
  for (const auto& w : warnings) logging::app().warn("{}", w);
  return built;
}

void App::reload_listener_tls() {
  if (!tls::listener_enabled(settings_)) return;
  static metrics::Counter& ok = metrics::Registry::global().counter(
      "gatewayd_tls_reloads_total", "Listener certificate reloads by result",
      {{"result", "success"}});
  static metrics::Counter& failed = metrics::Registry::global().counter(
      "gatewayd_tls_reloads_total", "Listener certificate reloads by result",
      {{"result", "failure"}});
  try {
    auto context = tls::make_server_context(tls::server_options_from(settings_));
    const auto described = tls::describe_certificate(*context);
    for (auto& w : workers_) w->publish_tls_context(context);
    ok.inc();
    logging::app().info("TLS certificate reloaded: {}", described);
  } catch (const std::exception& ex) {
    failed.inc();
    logging::app().error("TLS certificate reload rejected, the previous one keeps serving: {}",
                         ex.what());
  }
}

void App::start_records() {
  auto options = persistence::persistence_options_from(settings_);
  std::filesystem::create_directories(options.spool_path.parent_path());
  persistence_ = std::make_shared<persistence::PersistenceService>(options);
  persistence_->start();
  state_.records = persistence_.get();
  logging::app().info("records: {} (spool {})",
                      options.enabled ? "MySQL " + describe(options.mysql) : "MySQL disabled",
                      options.spool_path.string());

  // Breakers, health and ejections live in the registry, keyed by name, so they survive
  // reloads and discovery updates.
  auto observer = std::make_shared<upstream::DefaultCircuitObserver>(*persistence_);
  endpoints_ =
      std::make_unique<upstream::EndpointRegistry>(upstream::Clock::steady(), std::move(observer));
  health_ = std::make_unique<upstream::HealthChecker>(control_.get_executor(), persistence_.get());
}

void App::start_discovery() {
  auto options = discovery::discovery_options_from_settings(settings_);
  discovery_registry_ = std::make_unique<discovery::DiscoveryRegistry>();
  discovery_ = std::make_unique<discovery::DiscoveryService>(
      control_.get_executor(), *discovery_registry_, *persistence_, options);
  // A change arrives on the control thread; the snapshot is rebuilt there too, off the workers.
  discovery_registry_->subscribe(
      [this](const discovery::DiscoveryChange&) { asio::post(control_, [this] { republish(); }); });
  discovery_->set_services(config_->services);
  const auto wait = options.startup_wait + std::chrono::seconds(1);
  if (!discovery_->wait_ready(wait)) {
    logging::app().warn("service discovery not complete after {} ms: {}", wait.count(),
                        discovery_->status().detail);
  }
  discovery_->start_registration();
}

void App::start_auth() {
  // CORS first: its headers then ride on the auth and rate-limit refusals too, so browsers can
  // read why a cross-origin call failed.
  cors_ = CorsPolicyHolder::from_settings(settings_);
  state_.cors = cors_;
  for (auto& w : workers_) w->add_filter(std::make_unique<CorsFilter>(cors_));
  auth_ = std::make_unique<auth::AuthRuntime>(settings_, persistence_.get());
  // Auth runs first: the rate limiter keys its per-user and per-key buckets on the verified
  // identity the auth stage sets.
  for (auto& w : workers_) {
    w->add_filter(auth_->make_filter(w->io().get_executor()));
    w->add_local_endpoint(auth_->make_token_endpoints(w->io().get_executor()));
  }
  auth_->start();
}

void App::start_tracing() {
  if (!settings_.get_bool("TRACING_ENABLED")) return;
  tracing::ExporterOptions options;
  options.endpoint = settings_.get("OTEL_EXPORTER_OTLP_ENDPOINT");
  options.resource.service_name = settings_.get("OTEL_SERVICE_NAME");
  options.resource.service_instance_id = settings_.node_id;  // host name when unset
  options.resource.attributes.push_back({"deployment.environment", settings_.environment});
  spans_ = std::make_unique<tracing::SpanExporter>(std::move(options));
  state_.sampler = tracing::Sampler(settings_.get_double("TRACING_SAMPLE_RATIO"));
  state_.spans = spans_.get();
  logging::app().info("tracing: OTLP/HTTP to {} (root sample ratio {})",
                      settings_.get("OTEL_EXPORTER_OTLP_ENDPOINT"), state_.sampler.ratio());
}

namespace {

// Two route lists are the same when their admin API views are: that covers every field a row
// of the `routes` table can set.
bool same_routes(const std::vector<RouteConfig>& a, const std::vector<RouteConfig>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (admin::route_to_json(a[i]) != admin::route_to_json(b[i])) return false;
  }
  return true;
}

}  // namespace

void App::adopt_table_routes(std::vector<RouteConfig> table_routes) {
  std::lock_guard serial(publish_mutex_);
  if (!file_config_ || same_routes(table_routes, api_routes_)) return;
  if (auto error = swap_api_routes_locked(std::move(table_routes), false); !error.empty()) {
    logging::app().error("routes table change rejected, previous routes keep serving: {}", error);
  }
}

void App::refresh_database_state() {
  if (!mysql_) return;
  // Routes another replica changed through its admin API arrive here within one period.
  if (auto routes = admin::load_api_routes(*mysql_, ConfigDefaults::from_settings(settings_));
      routes.ok()) {
    adopt_table_routes(std::move(routes.value.items));
  } else {
    logging::app().warn("routes table not read: {}", routes.error->describe());
  }
  if (auto keys = admin::load_api_keys(*mysql_); keys.ok()) {
    for (const auto& p : keys.value.problems) logging::app().warn("api_keys table: {}", p);
    if (auth_) auth_->set_database_api_keys(std::move(keys.value.items));
  } else {
    logging::app().warn("api_keys table not read: {}", keys.error->describe());
  }
  if (!rate_limit_) return;
  if (auto rules = admin::load_rate_limit_rules(*mysql_); rules.ok()) {
    for (const auto& p : rules.value.problems) logging::app().warn("rate_limit_rules table: {}", p);
    try {
      rate_limit_->set_table_rules(std::move(rules.value.items));
    } catch (const std::exception& ex) {
      logging::app().error("rate_limit_rules rejected, previous rules stay: {}", ex.what());
    }
  } else {
    logging::app().warn("rate_limit_rules table not read: {}", rules.error->describe());
  }
}

void App::start_database_refresh() {
  if (!mysql_) return;
  refresh_database_state();
  const auto period = std::max(std::chrono::milliseconds(1000),
                               settings_.get_duration("API_KEY_CACHE_TTL_SECONDS"));
  db_refresh_thread_ = std::thread([this, period] {
    std::unique_lock lock(db_refresh_mutex_);
    while (!db_refresh_cv_.wait_for(lock, period, [this] { return db_refresh_stop_; })) {
      lock.unlock();
      refresh_database_state();
      lock.lock();
    }
  });
}

void App::start_rate_limiting() {
  auto rl_settings = ratelimit::rate_limit_settings_from(settings_);
  if (!rl_settings.enabled) {
    logging::app().info("rate limiting disabled (RATE_LIMIT_ENABLED=false)");
    return;
  }
  rate_limit_ = std::make_shared<ratelimit::RateLimitService>(rl_settings, persistence_);
  auto file_rules = ratelimit::load_rule_file(settings_);
  const std::size_t file_rule_count = file_rules.size();
  rate_limit_->set_file_rules(std::move(file_rules));
  rate_limit_->start(control_.get_executor());
  for (auto& w : workers_) {
    auto limiter = ratelimit::RateLimiter::create(rate_limit_, w->io().get_executor());
    limiters_.push_back(limiter);
    w->add_filter(std::make_unique<ratelimit::RateLimitFilter>(std::move(limiter)));
  }
  logging::app().info("rate limiting: {} backend, default {} requests/minute, {} file rule(s)",
                      rl_settings.backend == ratelimit::Backend::kRedis ? "redis" : "local",
                      rl_settings.default_per_minute, file_rule_count);
}

void App::start_workers() {
  unsigned count = settings_.workers;
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  state_.workers_expected = count;
  const auto address = asio::ip::make_address(settings_.host);
  // An unusable certificate or key stops the start-up here, naming the setting and the file.
  std::shared_ptr<asio::ssl::context> tls_context;
  if (tls::listener_enabled(settings_)) {
    tls_context = tls::make_server_context(tls::server_options_from(settings_));
    logging::app().info("TLS on the public listener (TLS {}+, client certificates {}): {}",
                        settings_.get("TLS_MIN_VERSION"), settings_.get("TLS_CLIENT_VERIFY"),
                        tls::describe_certificate(*tls_context));
  }
  std::uint16_t port = settings_.port;
  auto redirect_port = static_cast<std::uint16_t>(settings_.get_int("HTTP_REDIRECT_PORT"));
  for (unsigned i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>(i, state_, snapshot_);
    // With PORT=0 the first worker picks the port and the others share it.
    worker->listen({address, port});
    port = worker->bound_port();
    if (tls_context) {
      worker->set_tls_context(tls_context);
      if (redirect_port != 0) {
        worker->listen_redirect({address, redirect_port}, port);
        redirect_port = worker->redirect_port();
      }
    }
    workers_.push_back(std::move(worker));
  }
  if (redirect_port != 0 && tls_context) {
    logging::app().info("HTTP redirect listener on {}:{} (308 to https port {})", settings_.host,
                        redirect_port, port);
  }
  metrics::Registry::global().gauge_callback(
      "gatewayd_upstream_pool_idle_connections", "Idle keep-alive connections to upstreams", {},
      [this] {
        double total = 0;
        for (const auto& w : workers_) total += static_cast<double>(w->pool().idle_count());
        return total;
      });
  logging::app().info("gatewayd listening on {}:{} with {} worker(s), env {}", settings_.host, port,
                      count, settings_.environment);
}

void App::register_readiness() {
  state_.readiness.push_back({"database", [this] {
                                const auto s = persistence_->db_state();
                                // Degraded, not failed: the spool absorbs the records.
                                return std::pair{to_state(s != persistence::DbState::kDegraded),
                                                 std::string(persistence::db_state_name(s))};
                              }});
  if (discovery_) {
    state_.readiness.push_back({"discovery", [this] {
                                  auto st = discovery_->status();
                                  return std::pair{to_state(st.ok()), st.detail};
                                }});
  }
  if (auth_) {
    state_.readiness.push_back(
        {"auth", [this] {
           const auto r = auth_->readiness();
           return std::pair{to_state(r.ready, false), r.ready ? std::string("ok") : r.reason};
         }});
  }
  if (rate_limit_) {
    state_.readiness.push_back({"rate_limit", [this] {
                                  const bool degraded = rate_limit_->degraded();
                                  return std::pair{
                                      to_state(!degraded),
                                      degraded ? rate_limit_->degraded_text() : std::string("ok")};
                                }});
  }
  // READY_REQUIRED_SERVICES: /ready is 503 while a named service has no healthy endpoint.
  for (const auto& name : settings_.get_list("READY_REQUIRED_SERVICES")) {
    state_.readiness.push_back(
        {"service:" + name, [this, name] {
           std::shared_ptr<const upstream::ServiceTable> table;
           {
             std::lock_guard lock(config_mutex_);
             table = live_services_;
           }
           const auto* svc = table ? table->find(name) : nullptr;
           const bool ok = svc != nullptr && svc->has_healthy_endpoint();
           return std::pair{to_state(ok, false), std::string(ok ? "ok" : "no healthy endpoint")};
         }});
  }
}

void App::start_admin() {
  admin_ = std::make_unique<AdminServer>(settings_.admin_host, settings_.admin_port,
                                         settings_.admin_token);
  AdminApiDeps deps;
  deps.current_config = [this] { return current_config(); };
  deps.config_defaults = ConfigDefaults::from_settings(settings_);
  deps.publish_routes = [this](std::vector<RouteConfig> routes) {
    return publish_api_routes(std::move(routes));
  };
  deps.records = persistence_.get();
  deps.mysql = mysql_;
  deps.on_rules_changed = [this] { refresh_database_state(); };
  deps.on_api_keys_changed = [this] { refresh_database_state(); };
  deps.services = [this] {
    std::shared_ptr<const upstream::ServiceTable> table;
    {
      std::lock_guard lock(config_mutex_);
      table = live_services_;
    }
    nlohmann::json out = nlohmann::json::array();
    if (!table) return out;
    const auto now = upstream::Clock::steady().now();
    for (const auto& svc : table->all()) {
      nlohmann::json instances = nlohmann::json::array();
      for (const auto& ep : svc->endpoints()) {
        instances.push_back({{"id", ep->id()},
                             {"url", ep->url()},
                             {"weight", ep->weight()},
                             {"enabled", ep->enabled()},
                             {"healthy", ep->healthy()},
                             {"ejected", ep->ejected(now)},
                             {"active_requests", ep->active_requests()},
                             {"circuit", upstream::circuit_state_name(ep->breaker().state())}});
      }
      out.push_back(
          {{"name", svc->name()},
           {"load_balancer", upstream::lb_strategy_name(svc->config().lb)},
           {"healthy", svc->has_healthy_endpoint()},
           {"instances", std::move(instances)},
           {"circuit", {{"state", upstream::circuit_state_name(svc->breaker().state())}}}});
    }
    return out;
  };
  deps.reset_circuit = [this](const std::string& name) {
    const bool known = endpoints_->reset_service(name);
    if (known) logging::app().info("circuit breakers of service {} reset by the admin API", name);
    return known;
  };
  deps.cors = [this] { return cors_->to_json(); };
  deps.update_cors = [this](const nlohmann::json& body) { return cors_->update(body); };
  deps.reload = [this] { return reload("admin", true); };
  deps.settings = [this] { return settings_.redacted(); };
  register_admin_api(*admin_, std::move(deps));
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
      reload_listener_tls();
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
    // Redis connections on the worker loops would keep them running: end them there, once the
    // limiters gave the unspent tokens of their leases back to Redis (within a short deadline).
    for (auto& limiter : limiters_) {
      asio::post(limiter->executor(), [limiter] { limiter->shut_down(); });
    }
    if (auth_) auth_->stop_redis_clients();
    watcher_.reset();
    signals_.cancel();
    shutdown_requested_.set_value();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(control_, kDrainPoll);
  timer->async_wait([this, timer](boost::system::error_code) { finish_shutdown_when_drained(); });
}

void App::stop_components() {
  // Order matters: nothing may submit records once the pipeline stopped.
  for (auto& limiter : limiters_) limiter->stop();
  limiters_.clear();
  if (rate_limit_) rate_limit_->stop();  // flushes the aggregated rate-limit records
  {
    std::lock_guard lock(db_refresh_mutex_);
    db_refresh_stop_ = true;
  }
  db_refresh_cv_.notify_all();
  if (db_refresh_thread_.joinable()) db_refresh_thread_.join();
  if (auth_) auth_->stop();
  if (discovery_) discovery_->stop();  // deregisters the gateway
  if (health_) health_->stop();
  if (spans_) spans_->shutdown();
  if (persistence_) persistence_->stop(kRecordsStopDeadline);
}

int App::run() {
  std::filesystem::create_directories(settings_.data_directory);
  file_config_ = load_config(settings_);
  if (settings_.get_bool("MYSQL_ENABLED")) {
    mysql_ = persistence::mysql_options_from(settings_);
    auto loaded = admin::load_api_routes(*mysql_, ConfigDefaults::from_settings(settings_));
    if (loaded.ok()) {
      for (const auto& p : loaded.value.problems) logging::app().warn("routes table: {}", p);
      api_routes_ = std::move(loaded.value.items);
    } else {
      logging::app().warn("routes table not read at start-up ({}): serving the files only",
                          loaded.error->describe());
    }
  }

  // The control loop (health checks, discovery, signals, timers) runs on its own thread from
  // the start: discovery's start-up wait needs it.
  control_work_.emplace(control_.get_executor());
  control_thread_ = std::thread([this] {
    for (;;) {
      try {
        control_.run();
        break;
      } catch (const std::exception& ex) {
        logging::error().error("control loop exception: {}", ex.what());
      }
    }
  });

  start_records();
  start_tracing();
  {
    std::lock_guard serial(publish_mutex_);
    config_ = merge_with_api_routes(*file_config_, false);
  }
  state_.config_loaded.store(true);
  start_discovery();
  {
    std::lock_guard serial(publish_mutex_);
    upstream_tls_ = build_upstream_tls(*config_);
    snapshot_ = build_snapshot(config_);
    live_services_ = snapshot_.services;
    health_->update(snapshot_.services->all(), snapshot_.upstream_tls);
  }
  start_workers();
  start_auth();
  // Routes that need keys the settings do not provide stop the start-up, before traffic.
  refuse_unservable_routes(*auth_, *config_);
  start_rate_limiting();
  start_database_refresh();
  register_readiness();
  for (auto& w : workers_) w->start();
  start_admin();
  if (settings_.watch_config) {
    const std::filesystem::path dir(settings_.config_dir);
    std::vector<std::string> watched{settings_.routes_file, settings_.services_file};
    if (rate_limit_ && !settings_.get("RATE_LIMIT_RULES_FILE").empty()) {
      watched.push_back(settings_.get("RATE_LIMIT_RULES_FILE"));
    }
    watcher_ = std::make_unique<ConfigWatcher>(control_, dir.string(), std::move(watched),
                                               [this] { reload("file change"); });
    try {
      watcher_->start();
    } catch (const std::exception& ex) {
      logging::app().warn("config file watching disabled: {}", ex.what());
    }
  }
  asio::post(control_, [this] { watch_signals(); });

  shutdown_requested_.get_future().wait();
  for (auto& w : workers_) w->join();
  if (admin_) admin_->stop();
  // The control loop keeps running while the components stop: deregistration and the last
  // record flush use it.
  stop_components();
  control_work_.reset();
  control_.stop();
  control_thread_.join();
  logging::app().info("gatewayd stopped");
  return 0;
}

}  // namespace gatewayd
