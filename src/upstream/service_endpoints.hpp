#pragma once
// One service's endpoints as of one config (or discovery) snapshot: an immutable list of
// shared Endpoint objects plus the service's load balancer and policies. A reload builds a new
// ServiceEndpoints over the same Endpoint objects (see EndpointRegistry).
//
// How the proxy uses it for one request:
//
//   auto svc_permit = svc.breaker().allow();          // service-level breaker
//   if (!svc_permit) -> 503 CIRCUIT_OPEN, Retry-After: svc_permit.retry_after
//   svc.record_request();                              // retry budget denominator
//   ExcludeSet tried;
//   for (unsigned attempts = 1;; ++attempts) {
//     Selection sel = svc.select(tried);
//     if (!sel) { svc.breaker().on_cancel(svc_permit); -> 503 UPSTREAM_UNAVAILABLE }
//     tried.add(sel.endpoint);
//     ActiveRequest active(*sel.endpoint);
//     AttemptOutcome outcome = ...attempt...;         // or svc.release(sel) if the client left
//     svc.report(sel, outcome);                        // endpoint breaker + outlier ejection
//     RetryVerdict v = svc.should_retry(route.retry, outcome, {method, ..., attempts, now,
//                                       deadline});
//     if (!v) break;                                   // answer with this outcome
//     wait v.backoff;
//   }
//   svc.breaker().record(svc_permit, final_outcome);
#include <memory>
#include <string>

#include "gatewayd/config.hpp"
#include "upstream/attempt_outcome.hpp"
#include "upstream/circuit_breaker.hpp"
#include "upstream/endpoint.hpp"
#include "upstream/endpoint_registry.hpp"
#include "upstream/exclude_set.hpp"
#include "upstream/load_balancer.hpp"
#include "upstream/outlier_detector.hpp"
#include "upstream/retry_evaluator.hpp"
#include "upstream/service_state.hpp"

namespace gatewayd::upstream {

// A chosen endpoint with the breaker permit issued for it. Every selection must end in
// report() or release().
struct Selection {
  Endpoint* endpoint = nullptr;
  CircuitPermit permit;
  explicit operator bool() const noexcept { return endpoint != nullptr; }
};

class ServiceEndpoints {
 public:
  // Looks up (or creates) the shared state of `config`'s service and endpoints in `registry`.
  // Endpoints of a service without an active health check are marked healthy.
  static std::shared_ptr<const ServiceEndpoints> build(EndpointRegistry& registry,
                                                       const ServiceConfig& config);

  const std::string& name() const noexcept { return config_.name; }
  const ServiceConfig& config() const noexcept { return config_; }
  const EndpointList& endpoints() const noexcept { return endpoints_; }
  ServiceState& state() const noexcept { return *state_; }
  CircuitBreaker& breaker() const noexcept { return state_->breaker(); }
  RetryBudget& retry_budget() const noexcept { return state_->retry_budget(); }
  const Clock& clock() const noexcept { return clock_; }

  // Picks an available endpoint not in `tried` (falling back to tried ones) and takes a
  // breaker permit for it. Empty when no endpoint is available.
  Selection select(const ExcludeSet& tried) const noexcept;
  // Feeds an attempt's outcome to the endpoint's breaker and the outlier detector.
  void report(const Selection& selection, const AttemptOutcome& outcome) const noexcept;
  // Ends a selection without a verdict on the upstream (client gone, request aborted locally).
  void release(const Selection& selection) const noexcept;

  // Once per downstream request that reaches the upstream stage.
  void record_request() const noexcept { state_->retry_budget().record_request(); }
  // The route's retry policy, then the service's retry budget; counts
  // gatewayd_retries_total / gatewayd_retry_budget_exhausted_total.
  RetryVerdict should_retry(const RetryPolicy& policy, const AttemptOutcome& outcome,
                            const RetryContext& ctx) const noexcept;

  // An endpoint that would be picked right now exists.
  bool has_available_endpoint() const noexcept;
  // An endpoint that is enabled and passes its health check exists (for /ready).
  bool has_healthy_endpoint() const noexcept;

  ServiceEndpoints(const ServiceConfig& config, std::shared_ptr<ServiceState> state,
                   EndpointList endpoints, const Clock& clock);

 private:
  const ServiceConfig config_;
  const std::shared_ptr<ServiceState> state_;
  const EndpointList endpoints_;
  const Clock& clock_;
  const OutlierDetector outlier_;
  const std::unique_ptr<LoadBalancer> lb_;
};

}  // namespace gatewayd::upstream
