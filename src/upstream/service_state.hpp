#pragma once
// Per-service resilience state that outlives config snapshots: the service-level breaker, the
// retry budget, the ejection lock and cached metric handles. EndpointRegistry hands out one
// per service name.
#include <array>
#include <memory>
#include <mutex>
#include <string>

#include "gatewayd/config.hpp"
#include "gatewayd/metrics.hpp"
#include "upstream/circuit_breaker.hpp"
#include "upstream/retry_budget.hpp"
#include "upstream/retry_evaluator.hpp"

namespace gatewayd::upstream {

class ServiceState {
 public:
  ServiceState(const ServiceConfig& config, const Clock& clock,
               std::shared_ptr<CircuitObserver> observer);
  ServiceState(const ServiceState&) = delete;
  ServiceState& operator=(const ServiceState&) = delete;

  const std::string& name() const noexcept { return name_; }
  // Fed with one outcome per downstream request (after retries), not per attempt, so one bad
  // endpoint among good ones does not open the whole service.
  CircuitBreaker& breaker() noexcept { return breaker_; }
  RetryBudget& retry_budget() noexcept { return budget_; }
  std::mutex& ejection_mutex() noexcept { return ejection_mutex_; }

  // Applies a reloaded service config's policies.
  void update(const ServiceConfig& config);

  metrics::Counter& retries_counter(RetryReason reason) noexcept {
    return *retries_[static_cast<std::size_t>(reason)];
  }
  metrics::Counter& budget_exhausted_counter() noexcept { return *budget_exhausted_; }

 private:
  const std::string name_;
  CircuitBreaker breaker_;
  RetryBudget budget_;
  std::mutex ejection_mutex_;
  std::array<metrics::Counter*, kRetryReasonCount> retries_{};
  metrics::Counter* budget_exhausted_ = nullptr;
};

}  // namespace gatewayd::upstream
