#pragma once
// The resilience metric families. Each call is a registry get-or-create (takes the registry
// mutex): call once and keep the reference, or call only on rare paths.
#include <string_view>

#include "gatewayd/metrics.hpp"

namespace gatewayd::upstream::metric {

// Label value of `endpoint` for service-level series.
inline constexpr std::string_view kServiceLevel = "*";

// gatewayd_circuit_state{service,endpoint}: 0 closed, 1 half-open, 2 open.
metrics::Gauge& circuit_state(std::string_view service, std::string_view endpoint);
// gatewayd_circuit_transitions_total{service,endpoint,from,to}
metrics::Counter& circuit_transitions(std::string_view service, std::string_view endpoint,
                                      std::string_view from, std::string_view to);
// gatewayd_retries_total{service,reason}
metrics::Counter& retries(std::string_view service, std::string_view reason);
// gatewayd_retry_budget_exhausted_total{service}
metrics::Counter& retry_budget_exhausted(std::string_view service);
// gatewayd_health_check_results_total{service,endpoint,result}: result is success|failure
metrics::Counter& health_check_results(std::string_view service, std::string_view endpoint,
                                       std::string_view result);
// gatewayd_outlier_ejections_total{service,endpoint}
metrics::Counter& outlier_ejections(std::string_view service, std::string_view endpoint);
// gatewayd_endpoint_healthy{service,endpoint}: 1 when the active check passes
metrics::Gauge& endpoint_healthy(std::string_view service, std::string_view endpoint);

}  // namespace gatewayd::upstream::metric
