#pragma once
// The latest endpoint set of every discovered service, swapped atomically, plus the health of
// the discovery backends behind them.
//
// Readers (any thread): current(service) returns the shared_ptr<const EndpointSet> as of the
// call; the set itself never changes. Writers are the providers on the control thread.
// Subscribers are told about every change (new set with different endpoints) so the app can
// rebuild load-balancer views and drain the connection pools of removed endpoints.
//
// A failing backend never empties a service: errors are recorded (metric, degraded status) and
// the last set stays published until the backend answers again.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/endpoint_set.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::discovery {

struct DiscoveryChange {
  std::string service;
  EndpointSetPtr previous;           // null for the first set of a service
  EndpointSetPtr current;            // null when the service was dropped (forget())
  std::vector<std::string> removed;  // endpoint ids in previous but not in current
  std::uint64_t version = 0;         // the registry version after this change
};

// For /ready: kDegraded while a backend fails or a service has no set yet.
struct DiscoveryStatus {
  enum class State : std::uint8_t { kOk, kDegraded };
  State state = State::kOk;
  std::string detail;  // "ok", or which services are degraded and why (bounded)
  bool ok() const noexcept { return state == State::kOk; }
};

class DiscoveryRegistry {
 public:
  using Callback = std::function<void(const DiscoveryChange&)>;
  using SubscriptionId = std::uint64_t;

  explicit DiscoveryRegistry(metrics::Registry& metrics = metrics::Registry::global());
  DiscoveryRegistry(const DiscoveryRegistry&) = delete;
  DiscoveryRegistry& operator=(const DiscoveryRegistry&) = delete;

  // Declares a service to be served by `provider` ("consul", ...). A declared service without a
  // set counts as degraded ("waiting for first answer").
  void expect(const std::string& service, const std::string& provider);
  // Removes a service (config reload dropped it); subscribers get a change with current=null.
  void forget(const std::string& service);

  // Publishes a new set. Returns true (and notifies) when it differs from the current set in
  // endpoints; an identical set only refreshes the source. A set whose source is
  // "static-fallback" (services.yaml while the backend has not answered) leaves the service
  // degraded until its backend publishes, and is ignored once the backend has. Thread-safe.
  bool publish(EndpointSetPtr set);

  // A provider could not reach or understand its backend for `service`: counts
  // gatewayd_discovery_errors_total{provider,service} and marks the service degraded. The
  // published set is left alone. `detail` must not contain secrets.
  void report_error(const std::string& provider, const std::string& service,
                    const std::string& detail);
  // The backend answered for `service` again; clears the degraded mark.
  void report_ok(const std::string& provider, const std::string& service);

  // Null when nothing was published for the service.
  EndpointSetPtr current(std::string_view service) const;
  std::map<std::string, EndpointSetPtr, std::less<>> snapshot() const;
  std::uint64_t version() const noexcept;
  // True when every expected service has a set (from its backend or a fallback).
  bool all_have_sets() const;
  // True when `service` got a set from its backend (not the fallback).
  bool has_backend_set(std::string_view service) const;

  DiscoveryStatus status() const;
  // Errors reported for a service since start (for tests and the admin API).
  std::uint64_t error_count(std::string_view service) const;

  // The callback runs on the publishing thread (the control thread for providers), after the
  // swap, outside the registry lock: it may call current(), snapshot() and status().
  // Callbacks are serialised; one must not subscribe, unsubscribe, publish or forget (that
  // would wait for itself). Keep it short: post heavier work elsewhere.
  SubscriptionId subscribe(Callback callback);
  void unsubscribe(SubscriptionId id);

 private:
  struct ServiceEntry {
    EndpointSetPtr set;
    std::string provider;
    bool from_backend = false;
    bool failing = false;
    bool fallback = false;
    std::string last_error;
    std::uint64_t errors = 0;
    std::chrono::steady_clock::time_point failing_since{};
  };

  void notify(const DiscoveryChange& change);

  metrics::Registry& metrics_;
  mutable std::mutex mutex_;
  std::map<std::string, ServiceEntry, std::less<>> services_;
  std::uint64_t version_ = 0;

  std::mutex notify_mutex_;  // serialises callbacks; taken before mutex_
  std::map<SubscriptionId, Callback> subscribers_;
  SubscriptionId next_subscription_ = 1;
};

}  // namespace gatewayd::discovery
