#pragma once
// Process-wide resilience defaults from the environment (CIRCUIT_BREAKER_*, RETRY_*), the
// starting point for services and routes that do not set their own. Throws SettingsError for
// malformed values (start-up only).
#include "gatewayd/config.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd::upstream {

CircuitBreakerPolicy circuit_breaker_defaults(const Settings& settings);
// retry_count = RETRY_MAX_ATTEMPTS - 1 (0 when RETRY_ENABLED=false); backoff_max is the smaller
// of RETRY_MAX_MS and RETRY_MAX_DELAY_SECONDS.
RetryPolicy retry_defaults(const Settings& settings);
RetryBudgetPolicy retry_budget_defaults(const Settings& settings);

}  // namespace gatewayd::upstream
