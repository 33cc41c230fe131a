#include "upstream/resilience_defaults.hpp"

#include <gtest/gtest.h>

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;

TEST(ResilienceDefaultsTest, ReferenceDefaults) {
  Settings s;
  auto cb = circuit_breaker_defaults(s);
  EXPECT_TRUE(cb.enabled);
  EXPECT_EQ(cb.failure_threshold, 5U);
  EXPECT_EQ(cb.success_threshold, 2U);
  EXPECT_EQ(cb.open_timeout, 60s);
  EXPECT_EQ(cb.half_open_max_requests, 3U);
  EXPECT_DOUBLE_EQ(cb.failure_ratio, 0.5);
  EXPECT_EQ(cb.window, 10s);
  EXPECT_EQ(cb.window_min_requests, 20U);

  auto retry = retry_defaults(s);
  EXPECT_EQ(retry.retry_count, 2U);  // RETRY_MAX_ATTEMPTS=3 in total
  EXPECT_DOUBLE_EQ(retry.backoff_multiplier, 2.0);
  EXPECT_EQ(retry.backoff_base, 25ms);
  EXPECT_EQ(retry.backoff_max, 1000ms);  // min(RETRY_MAX_MS, RETRY_MAX_DELAY_SECONDS)

  auto budget = retry_budget_defaults(s);
  EXPECT_DOUBLE_EQ(budget.budget_percent, 20.0);
  EXPECT_DOUBLE_EQ(budget.min_retries_per_second, 3.0);
}

TEST(ResilienceDefaultsTest, EnvironmentOverrides) {
  Settings s;
  s.raw["CIRCUIT_BREAKER_ENABLED"] = "false";
  s.raw["CIRCUIT_BREAKER_FAILURE_THRESHOLD"] = "9";
  s.raw["CIRCUIT_BREAKER_TIMEOUT_SECONDS"] = "15";
  s.raw["CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS"] = "1";
  s.raw["RETRY_MAX_ATTEMPTS"] = "5";
  s.raw["RETRY_MAX_DELAY_SECONDS"] = "0.5";
  s.raw["RETRY_MAX_MS"] = "2000";
  auto cb = circuit_breaker_defaults(s);
  EXPECT_FALSE(cb.enabled);
  EXPECT_EQ(cb.failure_threshold, 9U);
  EXPECT_EQ(cb.open_timeout, 15s);
  EXPECT_EQ(cb.half_open_max_requests, 1U);
  auto retry = retry_defaults(s);
  EXPECT_EQ(retry.retry_count, 4U);
  EXPECT_EQ(retry.backoff_max, 500ms);

  s.raw["RETRY_ENABLED"] = "false";
  EXPECT_EQ(retry_defaults(s).retry_count, 0U);
}

TEST(ResilienceDefaultsTest, MalformedValuesNameTheVariable) {
  Settings s;
  s.raw["CIRCUIT_BREAKER_FAILURE_THRESHOLD"] = "many";
  try {
    (void)circuit_breaker_defaults(s);
    FAIL() << "no exception";
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("CIRCUIT_BREAKER_FAILURE_THRESHOLD"), std::string::npos);
  }
}

}  // namespace
}  // namespace gatewayd::upstream
