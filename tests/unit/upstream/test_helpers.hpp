#pragma once
// Shared helpers of the upstream unit tests.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gatewayd/config.hpp"
#include "upstream/circuit_observer.hpp"

namespace gatewayd::upstream::test {

inline InstanceConfig instance(const std::string& host, std::uint16_t port,
                               std::uint32_t weight = 1, bool healthy = true) {
  InstanceConfig i;
  i.scheme = "http";
  i.host = host;
  i.port = port;
  i.id = host + ":" + std::to_string(port);
  i.url = "http://" + i.id;
  i.weight = weight;
  i.healthy = healthy;
  return i;
}

// A breaker policy without jitter or ratio, so that times and transitions are exact.
inline CircuitBreakerPolicy exact_policy() {
  CircuitBreakerPolicy p;
  p.failure_threshold = 3;
  p.success_threshold = 2;
  p.open_timeout = std::chrono::milliseconds(1000);
  p.open_timeout_jitter = 0.0;
  p.half_open_max_requests = 2;
  p.failure_ratio = 0.0;
  return p;
}

struct RecordedTransition {
  std::string service, endpoint, reason;
  CircuitState from, to;
  std::uint32_t failure_count, success_count;
};

class RecordingObserver final : public CircuitObserver {
 public:
  void on_created(std::string_view service, std::string_view endpoint) noexcept override {
    std::lock_guard lock(mutex_);
    created_.push_back(std::string(service) + "/" + std::string(endpoint));
  }
  void on_transition(const CircuitTransition& t) noexcept override {
    std::lock_guard lock(mutex_);
    transitions_.push_back({std::string(t.service), std::string(t.endpoint), std::string(t.reason),
                            t.from, t.to, t.failure_count, t.success_count});
  }
  std::vector<RecordedTransition> transitions() const {
    std::lock_guard lock(mutex_);
    return transitions_;
  }
  std::vector<std::string> created() const {
    std::lock_guard lock(mutex_);
    return created_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<RecordedTransition> transitions_;
  std::vector<std::string> created_;
};

}  // namespace gatewayd::upstream::test
