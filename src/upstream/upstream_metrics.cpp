#include "upstream/upstream_metrics.hpp"

#include <string>

namespace gatewayd::upstream::metric {

namespace {
metrics::Labels labels(std::initializer_list<std::pair<std::string_view, std::string_view>> l) {
  metrics::Labels out;
  out.reserve(l.size());
  for (const auto& [k, v] : l) out.emplace_back(std::string(k), std::string(v));
  return out;
}
std::string_view endpoint_label(std::string_view endpoint) {
  return endpoint.empty() ? kServiceLevel : endpoint;
}
}  // namespace

metrics::Gauge& circuit_state(std::string_view service, std::string_view endpoint) {
  return metrics::Registry::global().gauge(
      "gatewayd_circuit_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open",
      labels({{"service", service}, {"endpoint", endpoint_label(endpoint)}}));
}

metrics::Counter& circuit_transitions(std::string_view service, std::string_view endpoint,
                                      std::string_view from, std::string_view to) {
  return metrics::Registry::global().counter("gatewayd_circuit_transitions_total",
                                             "Circuit breaker state transitions",
                                             labels({{"service", service},
                                                     {"endpoint", endpoint_label(endpoint)},
                                                     {"from", from},
                                                     {"to", to}}));
}

metrics::Counter& retries(std::string_view service, std::string_view reason) {
  return metrics::Registry::global().counter("gatewayd_retries_total", "Upstream retries by reason",
                                             labels({{"service", service}, {"reason", reason}}));
}

metrics::Counter& retry_budget_exhausted(std::string_view service) {
  return metrics::Registry::global().counter(
      "gatewayd_retry_budget_exhausted_total",
      "Retries refused because the service's retry budget was spent",
      labels({{"service", service}}));
}

metrics::Counter& health_check_results(std::string_view service, std::string_view endpoint,
                                       std::string_view result) {
  return metrics::Registry::global().counter(
      "gatewayd_health_check_results_total", "Active health check probe results",
      labels({{"service", service}, {"endpoint", endpoint}, {"result", result}}));
}

metrics::Counter& outlier_ejections(std::string_view service, std::string_view endpoint) {
  return metrics::Registry::global().counter(
      "gatewayd_outlier_ejections_total", "Endpoints ejected by passive outlier detection",
      labels({{"service", service}, {"endpoint", endpoint}}));
}

metrics::Gauge& endpoint_healthy(std::string_view service, std::string_view endpoint) {
  return metrics::Registry::global().gauge("gatewayd_endpoint_healthy",
                                           "1 when the endpoint passes its active health check",
                                           labels({{"service", service}, {"endpoint", endpoint}}));
}

}  // namespace gatewayd::upstream::metric
