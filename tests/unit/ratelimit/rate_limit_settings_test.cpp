#include "filters/rate_limit/rate_limit_settings.hpp"

#include <gtest/gtest.h>

#include "gatewayd/settings.hpp"

namespace gatewayd::ratelimit {
namespace {

TEST(RateLimitSettings, DefaultsFromTheSettingsTable) {
  Settings s;
  const auto r = rate_limit_settings_from(s);
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.default_per_minute, 100u);
  EXPECT_EQ(r.backend, Backend::kLocal);
  EXPECT_EQ(r.failure_mode, FailureMode::kLocal);
  EXPECT_EQ(r.expected_replicas, 1u);
  EXPECT_FALSE(r.ietf_headers);
  EXPECT_EQ(r.redis.name, "ratelimit");
  EXPECT_EQ(r.redis.command_timeout, r.redis_timeout);
}

TEST(RateLimitSettings, ReadsEveryVariable) {
  Settings s;
  s.raw = {{"RATE_LIMIT_ENABLED", "false"},
           {"RATE_LIMIT_PER_MINUTE", "250"},
           {"RATE_LIMIT_BACKEND", "redis"},
           {"RATE_LIMIT_REDIS_FAILURE_MODE", "closed"},
           {"RATE_LIMIT_REDIS_TIMEOUT_MS", "40"},
           {"RATE_LIMIT_EXPECTED_REPLICAS", "4"},
           {"RATE_LIMIT_HEADERS_IETF", "true"},
           {"RATE_LIMIT_MAX_BUCKETS", "5000"},
           {"RATE_LIMIT_MYSQL_ENABLED", "false"},
           {"REDIS_HOST", "redis.internal"},
           {"REDIS_PORT", "6390"}};
  s.trusted_proxies = {"10.0.0.0/8", "2001:db8::/32"};
  const auto r = rate_limit_settings_from(s);
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(r.default_per_minute, 250u);
  EXPECT_EQ(r.backend, Backend::kRedis);
  EXPECT_EQ(r.failure_mode, FailureMode::kClosed);
  EXPECT_EQ(r.redis_timeout.count(), 40);
  EXPECT_EQ(r.redis.command_timeout.count(), 40);
  EXPECT_EQ(r.expected_replicas, 4u);
  EXPECT_TRUE(r.ietf_headers);
  EXPECT_EQ(r.max_buckets, 5000u);
  EXPECT_FALSE(r.records_enabled);
  EXPECT_EQ(r.redis.endpoint.host, "redis.internal");
  EXPECT_EQ(r.redis.endpoint.port, 6390);
  ASSERT_EQ(r.trusted_proxies.size(), 2u);
}

TEST(RateLimitSettings, MalformedValuesNameTheVariable) {
  Settings s;
  s.raw = {{"RATE_LIMIT_REDIS_FAILURE_MODE", "sometimes"}};
  try {
    rate_limit_settings_from(s);
    FAIL() << "expected SettingsError";
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("RATE_LIMIT_REDIS_FAILURE_MODE"), std::string::npos);
  }
  Settings t;
  t.trusted_proxies = {"not-a-cidr"};
  EXPECT_THROW(rate_limit_settings_from(t), SettingsError);
}

}  // namespace
}  // namespace gatewayd::ratelimit
