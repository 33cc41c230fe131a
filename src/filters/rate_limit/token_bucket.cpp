#include "filters/rate_limit/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace gatewayd::ratelimit {

namespace {
// Refill arithmetic in doubles leaves crumbs such as 0.9999999999 where 1 is meant; a request
// that is a rounding error short of a token is allowed.
constexpr double kEpsilon = 1e-9;
}  // namespace

TokenBucketState bucket_full(const TokenBucketParams& p, std::int64_t now_us) noexcept {
  return TokenBucketState{p.capacity, now_us};
}

void bucket_refill(TokenBucketState& s, const TokenBucketParams& p, std::int64_t now_us) noexcept {
  if (now_us <= s.stamp_us) return;
  const double elapsed = static_cast<double>(now_us - s.stamp_us) / 1e6;
  s.tokens = std::min(p.capacity, s.tokens + elapsed * p.refill_per_second);
  s.stamp_us = now_us;
}

std::chrono::microseconds bucket_time_until(double tokens, double needed,
                                            const TokenBucketParams& p) noexcept {
  const double missing = needed - tokens;
  if (missing <= kEpsilon || p.refill_per_second <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(
      static_cast<std::int64_t>(std::ceil(missing / p.refill_per_second * 1e6)));
}

TokenBucketResult bucket_take(TokenBucketState& s, const TokenBucketParams& p, std::int64_t now_us,
                              double cost) noexcept {
  bucket_refill(s, p, now_us);
  TokenBucketResult r;
  r.allowed = s.tokens + kEpsilon >= cost;
  if (r.allowed) {
    s.tokens = std::max(0.0, s.tokens - cost);
  } else {
    r.retry_after = bucket_time_until(s.tokens, cost, p);
  }
  r.remaining = s.tokens;
  r.reset = bucket_time_until(s.tokens, p.capacity, p);
  return r;
}

TokenBucketResult bucket_peek(TokenBucketState& s, const TokenBucketParams& p,
                              std::int64_t now_us) noexcept {
  bucket_refill(s, p, now_us);
  TokenBucketResult r;
  r.allowed = s.tokens + kEpsilon >= 1;
  r.remaining = s.tokens;
  if (!r.allowed) r.retry_after = bucket_time_until(s.tokens, 1, p);
  r.reset = bucket_time_until(s.tokens, p.capacity, p);
  return r;
}

void bucket_refund(TokenBucketState& s, const TokenBucketParams& p, double cost) noexcept {
  s.tokens = std::min(p.capacity, s.tokens + cost);
}

std::uint32_t ceil_seconds(std::chrono::microseconds d) noexcept {
  if (d.count() <= 0) return 0;
  const auto seconds = (d.count() + 999'999) / 1'000'000;
  return static_cast<std::uint32_t>(std::min<std::int64_t>(seconds, UINT32_MAX));
}

}  // namespace gatewayd::ratelimit
