#include "discovery/discovery_service.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "discovery/consul_provider.hpp"
#include "discovery/consul_registration.hpp"
#include "discovery/etcd_provider.hpp"
#include "discovery/nacos_provider.hpp"
#include "discovery/nacos_registration.hpp"
#include "discovery/static_provider.hpp"
#include "gatewayd/logging.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;

namespace {

constexpr const char* kFallbackSource = "static-fallback";

asio::awaitable<void> fallback_after(DiscoveryRegistry* registry, ServiceConfig service,
                                     std::chrono::milliseconds wait, StopFlag stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(wait);
  co_await timer.async_wait(asio::use_awaitable);
  if (stop->load() || registry->has_backend_set(service.name)) co_return;
  logging::log_event(logging::app(), spdlog::level::warn,
                     "discovery backend has not answered, serving services.yaml instances",
                     {{"service", service.name}, {"instances", service.instances.size()}});
  registry->publish(endpoint_set_from_config(service, kFallbackSource));
}

ServiceInstanceRecord make_record(const std::string& service, const DiscoveredEndpoint& e,
                                  const std::string& source, const ServiceConfig* config,
                                  bool removed) {
  ServiceInstanceRecord r;
  r.service_name = service;
  r.instance_url = e.url();
  r.instance_id = e.instance_id.empty() ? e.id : e.instance_id;
  r.weight = removed ? 0 : e.weight;
  r.is_healthy = !removed && e.healthy;
  if (config != nullptr && config->health_check.enabled) {
    r.health_check_path = config->health_check.path;
    r.health_check_interval = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(config->health_check.interval).count());
  }
  nlohmann::json meta = {{"provider", source}};
  if (!e.zone.empty()) meta["zone"] = e.zone;
  if (!e.metadata.empty()) meta["metadata"] = e.metadata;
  if (removed) meta["removed"] = true;
  r.metadata_json = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.last_health_check = std::chrono::system_clock::now();
  return r;
}

}  // namespace

DiscoveryService::DiscoveryService(asio::any_io_executor control, DiscoveryRegistry& registry,
                                   RecordSink& records, DiscoveryOptions options)
    : control_(control),
      registry_(registry),
      records_(records),
      options_(std::move(options)),
      fallbacks_(control, "discovery-fallback") {
  subscription_ = registry_.subscribe([this](const DiscoveryChange& change) { on_change(change); });
}

DiscoveryService::~DiscoveryService() {
  stop();
  registry_.unsubscribe(subscription_);
}

DiscoveryProvider* DiscoveryService::provider(const std::string& type) {
  std::lock_guard lock(mutex_);
  if (stopped_) return nullptr;
  auto& slot = providers_[type];
  if (!slot) {
    if (type == "static") {
      slot = std::make_unique<StaticProvider>(registry_);
    } else if (type == "consul") {
      slot = std::make_unique<ConsulProvider>(control_, registry_, options_.consul);
    } else if (type == "nacos") {
      slot = std::make_unique<NacosProvider>(control_, registry_, options_.nacos);
    } else if (type == "etcd") {
      slot = std::make_unique<EtcdProvider>(control_, registry_, options_.etcd);
    } else {
      providers_.erase(type);
      return nullptr;
    }
  }
  return slot.get();
}

void DiscoveryService::set_services(
    const std::map<std::string, ServiceConfig, std::less<>>& services) {
  {
    std::lock_guard lock(configs_mutex_);
    for (const auto& [name, config] : services) configs_[name] = config;
  }
  std::map<std::string, std::string> gone;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    for (const auto& [name, type] : types_) {
      if (services.find(name) == services.end()) gone.emplace(name, type);
    }
  }
  for (const auto& [name, type] : gone) {
    if (auto* p = provider(type)) p->unwatch(name);
    fallbacks_.cancel(name);
    registry_.forget(name);
    std::lock_guard lock(mutex_);
    types_.erase(name);
  }
  {
    std::lock_guard lock(configs_mutex_);
    for (const auto& [name, type] : gone) configs_.erase(name);
  }

  for (const auto& [name, config] : services) {
    const std::string& type = options_.type_of(name);
    std::string previous;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      const auto it = types_.find(name);
      if (it != types_.end()) previous = it->second;
      types_[name] = type;
    }
    if (!previous.empty() && previous != type) {
      if (auto* p = provider(previous)) p->unwatch(name);
    }
    auto* p = provider(type);
    if (p == nullptr) continue;
    p->watch(config);
    if (type != "static" && options_.fallback_static && !config.instances.empty() &&
        !registry_.has_backend_set(name)) {
      fallbacks_.start(name, [this, config, wait = options_.startup_wait](StopFlag stop) {
        return fallback_after(&registry_, config, wait, std::move(stop));
      });
    }
  }
  ready_cv_.notify_all();
}

bool DiscoveryService::wait_ready(std::chrono::milliseconds timeout) {
  std::unique_lock lock(ready_mutex_);
  return ready_cv_.wait_for(lock, timeout, [this] { return registry_.all_have_sets(); });
}

void DiscoveryService::start_registration() {
  const auto& reg = options_.registration;
  if (!reg.enabled || registration_) return;
  if (options_.type == "consul") {
    registration_ = std::make_unique<ConsulRegistration>(control_, options_.consul, reg);
  } else if (options_.type == "nacos") {
    registration_ = std::make_unique<NacosRegistration>(control_, options_.nacos, reg);
  } else {
    logging::log_event(logging::app(), spdlog::level::warn,
                       "self-registration needs SERVICE_DISCOVERY_TYPE consul or nacos",
                       {{"type", options_.type}});
    return;
  }
  registration_->start();
}

void DiscoveryService::stop(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (registration_) registration_->stop(timeout);
  fallbacks_.shutdown(timeout);
  std::map<std::string, std::unique_ptr<DiscoveryProvider>> providers;
  {
    std::lock_guard lock(mutex_);
    providers.swap(providers_);
  }
  for (auto& [type, p] : providers) p->stop();
}

void DiscoveryService::on_change(const DiscoveryChange& change) {
  submit_records(change);
  { std::lock_guard lock(ready_mutex_); }
  ready_cv_.notify_all();
}

void DiscoveryService::submit_records(const DiscoveryChange& change) {
  std::optional<ServiceConfig> config;
  {
    std::lock_guard lock(configs_mutex_);
    const auto it = configs_.find(change.service);
    if (it != configs_.end()) config = it->second;
  }
  const ServiceConfig* cfg = config ? &*config : nullptr;
  if (change.current) {
    for (const auto& e : change.current->endpoints()) {
      const DiscoveredEndpoint* before = change.previous ? change.previous->find(e.id) : nullptr;
      if (before != nullptr && *before == e) continue;
      records_.submit(make_record(change.service, e, change.current->source(), cfg, false));
    }
  }
  if (change.previous) {
    for (const auto& id : change.removed) {
      if (const auto* e = change.previous->find(id)) {
        records_.submit(make_record(change.service, *e, change.previous->source(), cfg, true));
      }
    }
  }
}

}  // namespace gatewayd::discovery
