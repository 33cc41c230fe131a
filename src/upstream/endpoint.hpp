#pragma once
// One upstream endpoint of one service, shared by every worker thread and by every config
// snapshot that lists it (EndpointRegistry hands out the same object across reloads, so its
// breaker, health and ejection survive). All mutable state is atomic.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gatewayd/config.hpp"
#include "upstream/circuit_breaker.hpp"
#include "upstream/clock.hpp"

namespace gatewayd::upstream {

class Endpoint {
 public:
  Endpoint(std::string service, const InstanceConfig& instance, const CircuitBreakerPolicy& policy,
           const Clock& clock, std::shared_ptr<CircuitObserver> observer = nullptr);
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  const std::string& service() const noexcept { return service_; }
  const std::string& id() const noexcept { return id_; }  // "host:port"
  const std::string& scheme() const noexcept { return scheme_; }
  const std::string& host() const noexcept { return host_; }
  std::uint16_t port() const noexcept { return port_; }
  const std::string& url() const noexcept { return url_; }

  // Weight 0 means draining: requests already on the endpoint finish, new ones go elsewhere.
  std::uint32_t weight() const noexcept { return weight_.load(std::memory_order_relaxed); }
  void set_weight(std::uint32_t weight) noexcept {
    weight_.store(weight, std::memory_order_relaxed);
  }

  // `healthy:` from the config: false takes the endpoint out of rotation.
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool enabled) noexcept { enabled_.store(enabled, std::memory_order_relaxed); }

  // The active health check's verdict (true while no check is configured).
  bool healthy() const noexcept { return healthy_.load(std::memory_order_relaxed); }
  void set_healthy(bool healthy) noexcept { healthy_.store(healthy, std::memory_order_relaxed); }

  // Passive outlier ejection.
  bool ejected(Clock::time_point now) const noexcept {
    return to_ns(now) < ejected_until_ns_.load(std::memory_order_relaxed);
  }
  Clock::time_point ejected_until() const noexcept {
    return from_ns(ejected_until_ns_.load(std::memory_order_relaxed));
  }

  // Everything a load balancer checks: enabled, not draining, healthy, not ejected, and the
  // breaker would admit a request.
  bool available(Clock::time_point now) const noexcept {
    return enabled() && weight() > 0 && healthy() && !ejected(now) && breaker_.would_allow(now);
  }

  // In-flight requests, for least_connections. Use ActiveRequest to keep them balanced.
  std::uint32_t active_requests() const noexcept { return active_.load(std::memory_order_relaxed); }
  void begin_request() noexcept { active_.fetch_add(1, std::memory_order_relaxed); }
  void end_request() noexcept { active_.fetch_sub(1, std::memory_order_relaxed); }

  CircuitBreaker& breaker() noexcept { return breaker_; }
  const CircuitBreaker& breaker() const noexcept { return breaker_; }

 private:
  friend class OutlierDetector;

  const std::string service_;
  const std::string id_;
  const std::string scheme_;
  const std::string host_;
  const std::uint16_t port_;
  const std::string url_;

  std::atomic<std::uint32_t> weight_{1};
  std::atomic<bool> enabled_{true};
  std::atomic<bool> healthy_{true};
  std::atomic<std::uint32_t> active_{0};

  // Outlier bookkeeping (OutlierDetector).
  std::atomic<std::int64_t> ejected_until_ns_{0};
  std::atomic<std::uint32_t> consecutive_5xx_{0};
  std::atomic<std::uint32_t> consecutive_gateway_failures_{0};
  std::atomic<std::uint32_t> times_ejected_{0};

  CircuitBreaker breaker_;
};

// Counts one in-flight request on an endpoint for its lifetime.
class ActiveRequest {
 public:
  explicit ActiveRequest(Endpoint& endpoint) noexcept : endpoint_(&endpoint) {
    endpoint_->begin_request();
  }
  ~ActiveRequest() {
    if (endpoint_) endpoint_->end_request();
  }
  ActiveRequest(ActiveRequest&& other) noexcept : endpoint_(other.endpoint_) {
    other.endpoint_ = nullptr;
  }
  ActiveRequest(const ActiveRequest&) = delete;
  ActiveRequest& operator=(const ActiveRequest&) = delete;
  ActiveRequest& operator=(ActiveRequest&&) = delete;

 private:
  Endpoint* endpoint_;
};

}  // namespace gatewayd::upstream
