#pragma once
// Rate-limit rules. Two sources:
//   * a route's `rate_limit: N` (N requests per minute for that route, per caller);
//   * rule sets (config file, `rate_limit_rules` table, admin API): rule_name, limit_type,
//     path_pattern, max_requests per window_seconds, optional burst, is_active.
// A rule becomes a token bucket: capacity = burst (default max_requests), refill =
// max_requests / window_seconds tokens per second.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/rate_limit/path_glob.hpp"
#include "filters/rate_limit/token_bucket.hpp"

#include <nlohmann/json_fwd.hpp>

namespace YAML {
class Node;
}

namespace gatewayd {
struct RouteConfig;
}

namespace gatewayd::ratelimit {

enum class LimitType : std::uint8_t {
  kPerUser,      // verified principal subject; callers without one fall back to their IP
  kPerIp,        // client IP
  kPerApiKey,    // verified API key id; callers without one fall back to their IP
  kPerEndpoint,  // the route, shared by every caller
  kGlobal,       // one bucket for everything the rule matches
  kPerCaller,    // route limits: user, else API key, else IP
};

std::string_view limit_type_name(LimitType type) noexcept;  // "per_user", ...
// Accepts the names above (case-insensitive); "per_caller" is internal and not accepted.
std::optional<LimitType> parse_limit_type(std::string_view text) noexcept;

struct RateLimitRuleSpec {
  std::string rule_name;
  LimitType limit_type = LimitType::kPerIp;
  std::string path_pattern;  // empty = every path
  std::uint32_t max_requests = 0;
  std::uint32_t window_seconds = 60;
  std::optional<std::uint32_t> burst;
  bool is_active = true;
};

// An error message naming the field, or nullopt when the spec is valid.
std::optional<std::string> validate_rule_spec(const RateLimitRuleSpec& spec);

struct RateLimitRule {
  std::string name;  // metric label and part of the bucket key
  LimitType type = LimitType::kPerIp;
  PathGlob pattern;
  TokenBucketParams bucket;
  std::uint32_t limit = 0;  // max_requests: what X-RateLimit-Limit reports
  std::uint32_t window_seconds = 60;
  std::string window_type;  // rate_limit_records.window_type: "minute", "hour", "30s", ...
  std::string route_path;   // rate_limit_records.route_path
};

// Throws std::invalid_argument with the validation message for an invalid spec.
RateLimitRule compile_rule(const RateLimitRuleSpec& spec);

// The rule of a route with `rate_limit: per_minute` (or the RATE_LIMIT_PER_MINUTE default):
// per caller, capacity = per_minute, refill per_minute / 60 per second. Named after the route.
RateLimitRule route_rule(const RouteConfig& route, std::uint32_t per_minute);
RateLimitRule default_rule(std::uint32_t per_minute);  // "default", when nothing else applies
// The own limit of a verified API key: per key id, `limit` requests per `window_seconds` (60:
// "api_key_per_minute", 3600: "api_key_per_hour", else "api_key_per_<n>s"), capacity `limit`.
RateLimitRule api_key_rule(std::uint32_t limit, std::uint32_t window_seconds);

// "second", "minute", "hour", "day", or "<n>s".
std::string window_type_name(std::uint32_t window_seconds);

// A list of rules from YAML (each item: rule_name, limit_type and max_requests required;
// path_pattern, window_seconds (default 60), burst, is_active optional). Throws
// std::invalid_argument naming `source`, the item ("<list_name>[i] (line n)") and the field for
// malformed, invalid or duplicate entries.
std::vector<RateLimitRuleSpec> parse_rule_specs(const YAML::Node& list, std::string_view source,
                                                std::string_view list_name = "rate_limit_rules");

// The same fields as a JSON object (admin API bodies, rate_limit_rules rows), and back.
// Throws std::invalid_argument naming the field for malformed or invalid input.
RateLimitRuleSpec rule_spec_from_json(const nlohmann::json& object);
nlohmann::json rule_spec_to_json(const RateLimitRuleSpec& spec);

}  // namespace gatewayd::ratelimit
