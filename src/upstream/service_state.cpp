#include "upstream/service_state.hpp"

#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {

ServiceState::ServiceState(const ServiceConfig& config, const Clock& clock,
                           std::shared_ptr<CircuitObserver> observer)
    : name_(config.name),
      breaker_(config.name, "", config.circuit_breaker, clock, std::move(observer)),
      budget_(config.retry_budget, clock) {
  for (std::size_t i = 0; i < kRetryReasonCount; ++i) {
    retries_[i] = &metric::retries(name_, retry_reason_name(static_cast<RetryReason>(i)));
  }
  budget_exhausted_ = &metric::retry_budget_exhausted(name_);
}

void ServiceState::update(const ServiceConfig& config) {
  breaker_.update_policy(config.circuit_breaker);
  budget_.update_policy(config.retry_budget);
}

}  // namespace gatewayd::upstream
