#include "discovery/discovery_registry.hpp"

#include <utility>

namespace gatewayd::discovery {

namespace {

constexpr std::size_t kMaxDetailServices = 5;

metrics::Counter& errors_counter(metrics::Registry& m, const std::string& provider,
                                 const std::string& service) {
  return m.counter("gatewayd_discovery_errors_total",
                   "Failed calls to a service discovery backend (the last endpoint set is kept).",
                   {{"provider", provider}, {"service", service}});
}

metrics::Counter& updates_counter(metrics::Registry& m, const std::string& source,
                                  const std::string& service) {
  return m.counter("gatewayd_discovery_updates_total",
                   "Endpoint set changes published by service discovery.",
                   {{"provider", source}, {"service", service}});
}

metrics::Gauge& endpoints_gauge(metrics::Registry& m, const std::string& service) {
  return m.gauge("gatewayd_discovery_endpoints",
                 "Endpoints in the current discovered set of a service.", {{"service", service}});
}

}  // namespace

DiscoveryRegistry::DiscoveryRegistry(metrics::Registry& metrics) : metrics_(metrics) {}

void DiscoveryRegistry::expect(const std::string& service, const std::string& provider) {
  std::lock_guard lock(mutex_);
  auto& entry = services_[service];
  if (entry.provider != provider) {
    entry.provider = provider;
    entry.from_backend = false;
    entry.failing = false;
    entry.last_error.clear();
  }
}

void DiscoveryRegistry::forget(const std::string& service) {
  std::lock_guard notify_lock(notify_mutex_);
  DiscoveryChange change;
  {
    std::lock_guard lock(mutex_);
    const auto it = services_.find(service);
    if (it == services_.end()) return;
    change.previous = it->second.set;
    services_.erase(it);
    if (!change.previous) return;
    change.version = ++version_;
  }
  change.service = service;
  change.removed = removed_ids(change.previous.get(), nullptr);
  endpoints_gauge(metrics_, service).set(0);
  notify(change);
}

bool DiscoveryRegistry::publish(EndpointSetPtr set) {
  if (!set) return false;
  std::lock_guard notify_lock(notify_mutex_);
  DiscoveryChange change;
  change.service = set->service();
  {
    std::lock_guard lock(mutex_);
    auto& entry = services_[set->service()];
    if (entry.provider.empty()) entry.provider = set->source();
    const bool fallback = set->source() == "static-fallback";
    // The fallback only stands in until the backend answers; it never replaces a backend set.
    if (fallback && entry.from_backend) return false;
    entry.fallback = fallback;
    if (!fallback) entry.from_backend = true;
    if (entry.set && entry.set->same_endpoints(*set)) {
      if (entry.set->source() != set->source()) entry.set = std::move(set);
      return false;
    }
    change.previous = std::exchange(entry.set, set);
    change.current = std::move(set);
    change.version = ++version_;
  }
  change.removed = removed_ids(change.previous.get(), change.current.get());
  updates_counter(metrics_, change.current->source(), change.service).inc();
  endpoints_gauge(metrics_, change.service).set(static_cast<double>(change.current->size()));
  notify(change);
  return true;
}

void DiscoveryRegistry::report_error(const std::string& provider, const std::string& service,
                                     const std::string& detail) {
  errors_counter(metrics_, provider, service).inc();
  std::lock_guard lock(mutex_);
  auto& entry = services_[service];
  if (entry.provider.empty()) entry.provider = provider;
  if (!entry.failing) {
    entry.failing = true;
    entry.failing_since = std::chrono::steady_clock::now();
  }
  entry.last_error = detail;
  ++entry.errors;
}

void DiscoveryRegistry::report_ok(const std::string& provider, const std::string& service) {
  std::lock_guard lock(mutex_);
  auto& entry = services_[service];
  if (entry.provider.empty()) entry.provider = provider;
  entry.failing = false;
  entry.last_error.clear();
}

EndpointSetPtr DiscoveryRegistry::current(std::string_view service) const {
  std::lock_guard lock(mutex_);
  const auto it = services_.find(service);
  return it == services_.end() ? nullptr : it->second.set;
}

std::map<std::string, EndpointSetPtr, std::less<>> DiscoveryRegistry::snapshot() const {
  std::map<std::string, EndpointSetPtr, std::less<>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : services_) {
    if (entry.set) out.emplace(name, entry.set);
  }
  return out;
}

std::uint64_t DiscoveryRegistry::version() const noexcept {
  std::lock_guard lock(mutex_);
  return version_;
}

bool DiscoveryRegistry::all_have_sets() const {
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : services_) {
    if (!entry.set) return false;
  }
  return true;
}

bool DiscoveryRegistry::has_backend_set(std::string_view service) const {
  std::lock_guard lock(mutex_);
  const auto it = services_.find(service);
  return it != services_.end() && it->second.set && it->second.from_backend;
}

DiscoveryStatus DiscoveryRegistry::status() const {
  DiscoveryStatus out;
  std::size_t degraded = 0;
  std::string detail;
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : services_) {
    std::string why;
    if (entry.failing) {
      why = entry.provider + " failing: " + entry.last_error;
    } else if (entry.fallback) {
      why = "serving services.yaml fallback";
    } else if (!entry.set) {
      why = "waiting for " + entry.provider;
    } else {
      continue;
    }
    if (degraded < kMaxDetailServices) {
      if (!detail.empty()) detail += "; ";
      detail += name + ": " + why;
    }
    ++degraded;
  }
  if (degraded == 0) {
    out.detail = "ok";
    return out;
  }
  if (degraded > kMaxDetailServices) {
    detail += "; and " + std::to_string(degraded - kMaxDetailServices) + " more";
  }
  out.state = DiscoveryStatus::State::kDegraded;
  out.detail = std::move(detail);
  return out;
}

std::uint64_t DiscoveryRegistry::error_count(std::string_view service) const {
  std::lock_guard lock(mutex_);
  const auto it = services_.find(service);
  return it == services_.end() ? 0 : it->second.errors;
}

DiscoveryRegistry::SubscriptionId DiscoveryRegistry::subscribe(Callback callback) {
  std::lock_guard lock(notify_mutex_);
  const auto id = next_subscription_++;
  subscribers_.emplace(id, std::move(callback));
  return id;
}

void DiscoveryRegistry::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(notify_mutex_);
  subscribers_.erase(id);
}

void DiscoveryRegistry::notify(const DiscoveryChange& change) {
  for (const auto& [id, callback] : subscribers_) {
    try {
      callback(change);
    } catch (...) {
      // A subscriber's failure must not stop the others from seeing the change.
    }
  }
}

}  // namespace gatewayd::discovery
