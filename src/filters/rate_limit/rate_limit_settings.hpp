#pragma once
// Process-level settings of the rate-limit stage (RATE_LIMIT_* variables), read once at start-up.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clients/redis_options.hpp"
#include "common/cidr.hpp"

namespace gatewayd {
struct Settings;
}

namespace gatewayd::ratelimit {

enum class Backend : std::uint8_t { kLocal, kRedis };
// What to do when Redis fails (down, or slower than redis_timeout).
enum class FailureMode : std::uint8_t {
  kLocal,   // local buckets with the limit divided by expected_replicas
  kOpen,    // let requests through
  kClosed,  // refuse them (429)
};

std::string_view failure_mode_name(FailureMode mode) noexcept;

struct RateLimitSettings {
  bool enabled = true;                             // RATE_LIMIT_ENABLED
  std::uint32_t default_per_minute = 100;          // RATE_LIMIT_PER_MINUTE (0 = no default rule)
  Backend backend = Backend::kLocal;               // RATE_LIMIT_BACKEND
  FailureMode failure_mode = FailureMode::kLocal;  // RATE_LIMIT_REDIS_FAILURE_MODE
  std::chrono::milliseconds redis_timeout{100};    // RATE_LIMIT_REDIS_TIMEOUT_MS
  std::uint32_t redis_lease_percent = 1;           // RATE_LIMIT_REDIS_LEASE_PERCENT (0 = off)
  std::uint32_t expected_replicas = 1;             // RATE_LIMIT_EXPECTED_REPLICAS
  bool ietf_headers = false;                       // RATE_LIMIT_HEADERS_IETF
  std::size_t max_buckets = 100'000;               // RATE_LIMIT_MAX_BUCKETS
  bool records_enabled = true;                     // RATE_LIMIT_MYSQL_ENABLED
  std::chrono::milliseconds records_flush_interval{10'000};  // ..._RECORDS_FLUSH_INTERVAL_MS
  std::size_t max_record_entries = 100'000;  // aggregation map bound; a full map flushes early
  std::chrono::milliseconds sweep_interval{10'000};
  std::vector<Cidr> trusted_proxies;  // TRUSTED_PROXIES
  RedisOptions redis;                 // REDIS_* (used when backend is redis)
  std::string node_id;                // CLUSTER_NODE_ID, for logs
};

// Throws SettingsError naming the variable for malformed values.
RateLimitSettings rate_limit_settings_from(const Settings& settings);

}  // namespace gatewayd::ratelimit
