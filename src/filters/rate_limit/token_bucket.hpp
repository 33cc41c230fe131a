#pragma once
// Token bucket arithmetic, shared by the local buckets and (in Lua form) the Redis script.
// A bucket holds up to `capacity` tokens (the burst) and earns `refill_per_second` tokens per
// second; a request takes one token or is refused. Pure functions over a small state, so the
// rules are tested without clocks or threads.
#include <chrono>
#include <cstdint>

namespace gatewayd::ratelimit {

struct TokenBucketParams {
  double capacity = 1;           // burst size, >= 1
  double refill_per_second = 1;  // > 0
};

struct TokenBucketState {
  double tokens = 0;
  std::int64_t stamp_us = 0;  // time up to which refill has been counted
};

struct TokenBucketResult {
  bool allowed = false;
  double remaining = 0;                      // tokens left after this decision
  std::chrono::microseconds retry_after{0};  // until `cost` tokens are there (0 when allowed)
  std::chrono::microseconds reset{0};        // until the bucket is full again
};

// A new bucket starts full.
TokenBucketState bucket_full(const TokenBucketParams& p, std::int64_t now_us) noexcept;

// Adds the tokens earned since state.stamp_us, up to capacity. A clock that went backwards
// mints nothing: the later stamp is kept, so refill resumes only once time passes it again.
void bucket_refill(TokenBucketState& s, const TokenBucketParams& p, std::int64_t now_us) noexcept;

// Refill, then take `cost` tokens if there are that many. A refused request takes nothing.
TokenBucketResult bucket_take(TokenBucketState& s, const TokenBucketParams& p, std::int64_t now_us,
                              double cost = 1) noexcept;

// Refill, then report without taking (cost 0).
TokenBucketResult bucket_peek(TokenBucketState& s, const TokenBucketParams& p,
                              std::int64_t now_us) noexcept;

// Gives back up to `cost` tokens (capped at capacity), for a request another rule refused.
void bucket_refund(TokenBucketState& s, const TokenBucketParams& p, double cost = 1) noexcept;

// Time until the bucket holds `needed` tokens, from `tokens` now (0 if already there).
std::chrono::microseconds bucket_time_until(double tokens, double needed,
                                            const TokenBucketParams& p) noexcept;

// Seconds for headers: rounds up, and a positive wait is at least 1 s (Retry-After: 0 would
// invite an immediate retry that is still refused).
std::uint32_t ceil_seconds(std::chrono::microseconds d) noexcept;

}  // namespace gatewayd::ratelimit
