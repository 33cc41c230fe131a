#include "filters/rate_limit/rate_limit_settings.hpp"

#include <algorithm>
#include <cctype>

#include "gatewayd/settings.hpp"

namespace gatewayd::ratelimit {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string_view failure_mode_name(FailureMode mode) noexcept {
  switch (mode) {
    case FailureMode::kLocal:
      return "local";
    case FailureMode::kOpen:
      return "open";
    case FailureMode::kClosed:
      return "closed";
  }
  return "local";
}

RateLimitSettings rate_limit_settings_from(const Settings& settings) {
  RateLimitSettings r;
  r.enabled = settings.get_bool("RATE_LIMIT_ENABLED");
  const auto per_minute = settings.get_int("RATE_LIMIT_PER_MINUTE");
  if (per_minute < 0 || per_minute > 100'000'000) {
    throw SettingsError("RATE_LIMIT_PER_MINUTE: out of range");
  }
  r.default_per_minute = static_cast<std::uint32_t>(per_minute);

  const std::string backend = lower(settings.get("RATE_LIMIT_BACKEND"));
  if (backend == "local") {
    r.backend = Backend::kLocal;
  } else if (backend == "redis") {
    r.backend = Backend::kRedis;
  } else {
    throw SettingsError("RATE_LIMIT_BACKEND: expected local or redis");
  }

  const std::string mode = lower(settings.get("RATE_LIMIT_REDIS_FAILURE_MODE"));
  if (mode == "local") {
    r.failure_mode = FailureMode::kLocal;
  } else if (mode == "open") {
    r.failure_mode = FailureMode::kOpen;
  } else if (mode == "closed") {
    r.failure_mode = FailureMode::kClosed;
  } else {
    throw SettingsError("RATE_LIMIT_REDIS_FAILURE_MODE: expected local, open or closed");
  }

  const auto timeout_ms = settings.get_int("RATE_LIMIT_REDIS_TIMEOUT_MS");
  if (timeout_ms <= 0) throw SettingsError("RATE_LIMIT_REDIS_TIMEOUT_MS: must be positive");
  r.redis_timeout = std::chrono::milliseconds(timeout_ms);

  const auto lease = settings.get_int("RATE_LIMIT_REDIS_LEASE_PERCENT");
  if (lease < 0 || lease > 50) {
    throw SettingsError("RATE_LIMIT_REDIS_LEASE_PERCENT: must be between 0 and 50");
  }
  r.redis_lease_percent = static_cast<std::uint32_t>(lease);
  const auto replicas = settings.get_int("RATE_LIMIT_EXPECTED_REPLICAS");
  if (replicas < 1 || replicas > 10'000) {
    throw SettingsError("RATE_LIMIT_EXPECTED_REPLICAS: must be between 1 and 10000");
  }
  r.expected_replicas = static_cast<std::uint32_t>(replicas);
  r.ietf_headers = settings.get_bool("RATE_LIMIT_HEADERS_IETF");
  const auto max_buckets = settings.get_int("RATE_LIMIT_MAX_BUCKETS");
  if (max_buckets < 16) throw SettingsError("RATE_LIMIT_MAX_BUCKETS: must be at least 16");
  r.max_buckets = static_cast<std::size_t>(max_buckets);
  r.records_enabled = settings.get_bool("RATE_LIMIT_MYSQL_ENABLED");
  r.records_flush_interval = settings.get_duration("RATE_LIMIT_RECORDS_FLUSH_INTERVAL_MS");

  for (const auto& text : settings.trusted_proxies) {
    auto cidr = Cidr::parse(text);
    if (!cidr) throw SettingsError("TRUSTED_PROXIES: '" + text + "' is not an address or CIDR");
    r.trusted_proxies.push_back(*cidr);
  }
  r.redis = redis_options_from_settings(settings);
  r.redis.name = "ratelimit";
  // A decision that misses this deadline counts as a Redis failure (the failure mode applies).
  r.redis.command_timeout = r.redis_timeout;
  r.node_id = settings.node_id;
  return r;
}

}  // namespace gatewayd::ratelimit
