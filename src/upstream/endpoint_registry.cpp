#include "upstream/endpoint_registry.hpp"

#include "upstream/outlier_detector.hpp"

namespace gatewayd::upstream {

namespace {
std::string instance_id(const InstanceConfig& instance) {
  return instance.id.empty() ? instance.host + ":" + std::to_string(instance.port) : instance.id;
}
// Pruning is O(entries); doing it every so many lookups keeps a reload of N endpoints O(N).
constexpr std::size_t kPruneEvery = 64;
}  // namespace

EndpointRegistry::EndpointRegistry(const Clock& clock, std::shared_ptr<CircuitObserver> observer)
    : clock_(clock), observer_(std::move(observer)) {}

void EndpointRegistry::prune_locked() {
  if (++lookups_since_prune_ < kPruneEvery) return;
  lookups_since_prune_ = 0;
  std::erase_if(endpoints_, [](const auto& kv) { return kv.second.expired(); });
  std::erase_if(services_, [](const auto& kv) { return kv.second.expired(); });
}

std::shared_ptr<Endpoint> EndpointRegistry::endpoint(const std::string& service,
                                                     const InstanceConfig& instance,
                                                     const CircuitBreakerPolicy& policy) {
  std::lock_guard lock(mutex_);
  prune_locked();
  Key key{service, instance_id(instance)};
  const std::string scheme = instance.scheme.empty() ? "http" : instance.scheme;
  auto it = endpoints_.find(key);
  if (it != endpoints_.end()) {
    if (auto existing = it->second.lock(); existing && existing->scheme() == scheme) {
      existing->set_weight(instance.weight);
      existing->set_enabled(instance.healthy);
      existing->breaker().update_policy(policy);
      return existing;
    }
  }
  auto created = std::make_shared<Endpoint>(service, instance, policy, clock_, observer_);
  endpoints_.insert_or_assign(std::move(key), created);
  return created;
}

std::shared_ptr<ServiceState> EndpointRegistry::service(const ServiceConfig& config) {
  std::lock_guard lock(mutex_);
  prune_locked();
  auto it = services_.find(config.name);
  if (it != services_.end()) {
    if (auto existing = it->second.lock()) {
      existing->update(config);
      return existing;
    }
  }
  auto created = std::make_shared<ServiceState>(config, clock_, observer_);
  services_.insert_or_assign(config.name, created);
  return created;
}

std::shared_ptr<Endpoint> EndpointRegistry::find_endpoint(std::string_view service,
                                                          std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = endpoints_.find(Key{std::string(service), std::string(id)});
  return it == endpoints_.end() ? nullptr : it->second.lock();
}

std::shared_ptr<ServiceState> EndpointRegistry::find_service(std::string_view service) const {
  std::lock_guard lock(mutex_);
  auto it = services_.find(service);
  return it == services_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<Endpoint>> EndpointRegistry::endpoints_of(
    std::string_view service) const {
  std::vector<std::shared_ptr<Endpoint>> out;
  std::lock_guard lock(mutex_);
  for (auto it = endpoints_.lower_bound(Key{std::string(service), std::string()});
       it != endpoints_.end() && it->first.first == service; ++it) {
    if (auto e = it->second.lock()) out.push_back(std::move(e));
  }
  return out;
}

bool EndpointRegistry::reset_service(std::string_view service) {
  auto state = find_service(service);
  auto endpoints = endpoints_of(service);
  if (!state && endpoints.empty()) return false;
  if (state) state->breaker().reset();
  for (const auto& e : endpoints) {
    e->breaker().reset();
    OutlierDetector::clear(*e);
  }
  return true;
}

std::size_t EndpointRegistry::endpoint_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, weak] : endpoints_) n += weak.expired() ? 0 : 1;
  return n;
}

std::size_t EndpointRegistry::service_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, weak] : services_) n += weak.expired() ? 0 : 1;
  return n;
}

}  // namespace gatewayd::upstream
