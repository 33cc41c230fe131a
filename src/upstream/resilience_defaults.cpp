#include "upstream/resilience_defaults.hpp"

#include <algorithm>

namespace gatewayd::upstream {

CircuitBreakerPolicy circuit_breaker_defaults(const Settings& settings) {
  CircuitBreakerPolicy p;
  p.enabled = settings.get_bool("CIRCUIT_BREAKER_ENABLED");
  p.failure_threshold =
      static_cast<std::uint32_t>(settings.get_int("CIRCUIT_BREAKER_FAILURE_THRESHOLD"));
  p.success_threshold =
      static_cast<std::uint32_t>(settings.get_int("CIRCUIT_BREAKER_SUCCESS_THRESHOLD"));
  p.open_timeout = settings.get_duration("CIRCUIT_BREAKER_TIMEOUT_SECONDS");
  p.half_open_max_requests =
      static_cast<std::uint32_t>(settings.get_int("CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS"));
  p.failure_ratio = settings.get_double("CIRCUIT_BREAKER_FAILURE_RATIO");
  p.window = settings.get_duration("CIRCUIT_BREAKER_WINDOW_SECONDS");
  p.window_min_requests =
      static_cast<std::uint32_t>(settings.get_int("CIRCUIT_BREAKER_MIN_REQUESTS"));
  return p;
}

RetryPolicy retry_defaults(const Settings& settings) {
  RetryPolicy p;
  const auto attempts = std::max<std::int64_t>(1, settings.get_int("RETRY_MAX_ATTEMPTS"));
  p.retry_count = settings.get_bool("RETRY_ENABLED") ? static_cast<unsigned>(attempts - 1) : 0;
  p.backoff_multiplier = settings.get_double("RETRY_BACKOFF_FACTOR");
  p.backoff_base = settings.get_duration("RETRY_BASE_MS");
  p.backoff_max = std::min(settings.get_duration("RETRY_MAX_MS"),
                           settings.get_duration("RETRY_MAX_DELAY_SECONDS"));
  return p;
}

RetryBudgetPolicy retry_budget_defaults(const Settings& settings) {
  RetryBudgetPolicy p;
  p.budget_percent = settings.get_double("RETRY_BUDGET_PERCENT");
  p.min_retries_per_second = settings.get_double("RETRY_BUDGET_MIN_PER_SECOND");
  return p;
}

}  // namespace gatewayd::upstream
