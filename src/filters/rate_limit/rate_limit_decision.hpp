#pragma once
// The answer of the limiter for one request, and how it is rendered as response headers:
//   X-RateLimit-Limit / X-RateLimit-Remaining / X-RateLimit-Reset (seconds until the bucket is
//   full again) on every limited response, Retry-After (seconds) on refusals, and optionally the
//   IETF fields of draft-ietf-httpapi-ratelimit-headers:
//     RateLimit-Policy: "per-ip";q=100;w=60, "route";q=10;w=1
//     RateLimit: "per-ip";r=42;t=25
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gatewayd::ratelimit {

enum class DecisionSource : std::uint8_t {
  kNone,           // no rule applied
  kLocal,          // in-process buckets (RATE_LIMIT_BACKEND=local)
  kRedis,          // shared buckets in Redis
  kFallbackLocal,  // Redis failed; local buckets with the limit shared among replicas
  kFailOpen,       // Redis failed; allowed without counting
  kFailClosed,     // Redis failed; refused
};

std::string_view decision_source_name(DecisionSource source) noexcept;

struct RuleOutcome {
  std::string rule;
  std::uint32_t limit = 0;
  std::uint32_t window_seconds = 0;
  std::uint64_t remaining = 0;
  std::uint32_t reset_seconds = 0;
  std::uint32_t retry_after_seconds = 0;
  bool allowed = true;
};

struct RateLimitDecision {
  bool allowed = true;
  bool limited = false;     // at least one rule applied: rate-limit headers go out
  bool state_known = true;  // false when Redis failed open/closed: only the limit is known
  std::uint32_t limit = 0;
  std::uint32_t window_seconds = 0;
  std::uint64_t remaining = 0;
  std::uint32_t reset_seconds = 0;
  std::uint32_t retry_after_seconds = 0;  // > 0 only when refused
  std::string rule;  // the refusing rule, or the applied rule closest to its limit
  DecisionSource source = DecisionSource::kNone;
  std::vector<RuleOutcome> rules;  // every rule that applied, in evaluation order
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Appends the headers for `decision` (nothing when no rule applied).
void append_rate_limit_headers(const RateLimitDecision& decision, bool ietf, HeaderList& out);

// Message and details object for the RATE_LIMITED error body; nothing secret in them (rule names
// and numbers only).
std::string rate_limited_message(const RateLimitDecision& decision);
std::string rate_limited_details_json(const RateLimitDecision& decision);

}  // namespace gatewayd::ratelimit
