#include "upstream/service_endpoints.hpp"

namespace gatewayd::upstream {

std::shared_ptr<const ServiceEndpoints> ServiceEndpoints::build(EndpointRegistry& registry,
                                                                const ServiceConfig& config) {
  auto state = registry.service(config);
  EndpointList endpoints;
  endpoints.reserve(config.instances.size());
  for (const auto& instance : config.instances) {
    auto e = registry.endpoint(config.name, instance, config.circuit_breaker);
    // A duplicated instance would get double weight under round robin; keep the first.
    bool duplicate = false;
    for (const auto& seen : endpoints) duplicate = duplicate || seen == e;
    if (duplicate) continue;
    if (!config.health_check.enabled) e->set_healthy(true);
    endpoints.push_back(std::move(e));
  }
  return std::make_shared<const ServiceEndpoints>(config, std::move(state), std::move(endpoints),
                                                  registry.clock());
}

ServiceEndpoints::ServiceEndpoints(const ServiceConfig& config, std::shared_ptr<ServiceState> state,
                                   EndpointList endpoints, const Clock& clock)
    : config_(config),
      state_(std::move(state)),
      endpoints_(std::move(endpoints)),
      clock_(clock),
      outlier_(config.outlier),
      lb_(make_load_balancer(config.lb, endpoints_)) {}

Selection ServiceEndpoints::select(const ExcludeSet& tried) const noexcept {
  const Clock::time_point now = clock_.now();
  ExcludeSet refused;
  // would_allow() and allow() can disagree when another worker takes the last half-open probe
  // slot in between; the refusing endpoint is then skipped. Bounded by the endpoint count.
  for (std::size_t round = 0; round <= endpoints_.size(); ++round) {
    Endpoint* e = lb_->pick(Candidates(endpoints_, now, tried, refused));
    if (e == nullptr) return {};
    CircuitPermit permit = e->breaker().allow();
    if (permit) return {e, permit};
    refused.add(e);
  }
  return {};
}

void ServiceEndpoints::report(const Selection& selection,
                              const AttemptOutcome& outcome) const noexcept {
  if (!selection) return;
  Endpoint& e = *selection.endpoint;
  e.breaker().record(selection.permit, outcome);
  outlier_.observe(e, outcome, endpoints_, state_->ejection_mutex(), clock_.now());
}

void ServiceEndpoints::release(const Selection& selection) const noexcept {
  if (selection) selection.endpoint->breaker().on_cancel(selection.permit);
}

RetryVerdict ServiceEndpoints::should_retry(const RetryPolicy& policy,
                                            const AttemptOutcome& outcome,
                                            const RetryContext& ctx) const noexcept {
  RetryVerdict v = evaluate_retry(policy, outcome, ctx, thread_rng());
  if (!v.retry) return v;
  if (!state_->retry_budget().try_acquire()) {
    state_->budget_exhausted_counter().inc();
    v.retry = false;
    v.denial = RetryDenial::kBudgetExhausted;
    return v;
  }
  state_->retries_counter(v.reason).inc();
  return v;
}

bool ServiceEndpoints::has_available_endpoint() const noexcept {
  const Clock::time_point now = clock_.now();
  for (const auto& e : endpoints_) {
    if (e->available(now)) return true;
  }
  return false;
}

bool ServiceEndpoints::has_healthy_endpoint() const noexcept {
  for (const auto& e : endpoints_) {
    if (e->enabled() && e->weight() > 0 && e->healthy()) return true;
  }
  return false;
}

}  // namespace gatewayd::upstream
