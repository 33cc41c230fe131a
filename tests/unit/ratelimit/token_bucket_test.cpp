#include "filters/rate_limit/token_bucket.hpp"

#include <gtest/gtest.h>

namespace gatewayd::ratelimit {
namespace {

using std::chrono::microseconds;
constexpr std::int64_t kSecond = 1'000'000;

TEST(TokenBucket, StartsFullAndAllowsExactlyTheBurst) {
  const TokenBucketParams p{5, 1};
  auto s = bucket_full(p, 0);
  for (int i = 0; i < 5; ++i) {
    const auto r = bucket_take(s, p, 0);
    EXPECT_TRUE(r.allowed) << i;
    EXPECT_DOUBLE_EQ(r.remaining, 4 - i);
  }
  const auto refused = bucket_take(s, p, 0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_DOUBLE_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after, microseconds(kSecond));
  EXPECT_EQ(refused.reset, microseconds(5 * kSecond));
}

TEST(TokenBucket, RefillsAtTheRateAndNeverBeyondCapacity) {
  const TokenBucketParams p{10, 2};  // 2 tokens per second
  auto s = bucket_full(p, 0);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bucket_take(s, p, 0).allowed);
  EXPECT_FALSE(bucket_take(s, p, kSecond / 4).allowed);  // 0.5 token
  auto r = bucket_take(s, p, kSecond / 2);               // 1 token
  EXPECT_TRUE(r.allowed);
  EXPECT_NEAR(r.remaining, 0, 1e-9);
  bucket_refill(s, p, 100 * kSecond);
  EXPECT_DOUBLE_EQ(s.tokens, 10);
}

TEST(TokenBucket, PerMinuteRuleRefillsOneTokenEverySixtiethOfTheLimit) {
  const TokenBucketParams p{100, 100.0 / 60.0};
  auto s = bucket_full(p, 0);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(bucket_take(s, p, 0).allowed);
  const auto refused = bucket_take(s, p, 0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, microseconds(600'000));
  EXPECT_EQ(ceil_seconds(refused.retry_after), 1u);
  EXPECT_EQ(ceil_seconds(refused.reset), 60u);
  // 0.6 s later exactly one more request fits (no rounding crumbs lost).
  EXPECT_TRUE(bucket_take(s, p, 600'000).allowed);
  EXPECT_FALSE(bucket_take(s, p, 600'000).allowed);
}

TEST(TokenBucket, ClockGoingBackwardsMintsNothing) {
  const TokenBucketParams p{3, 1};
  auto s = bucket_full(p, 10 * kSecond);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bucket_take(s, p, 10 * kSecond).allowed);
  // The clock jumps back 5 s: no tokens, and the stamp stays at the later time.
  EXPECT_FALSE(bucket_take(s, p, 5 * kSecond).allowed);
  EXPECT_EQ(s.stamp_us, 10 * kSecond);
  // Coming forward again to where it was still gives nothing.
  EXPECT_FALSE(bucket_take(s, p, 10 * kSecond).allowed);
  // Only time past the latest stamp refills.
  EXPECT_TRUE(bucket_take(s, p, 11 * kSecond).allowed);
  EXPECT_FALSE(bucket_take(s, p, 11 * kSecond).allowed);
}

TEST(TokenBucket, RefusalTakesNothingAndRefundIsCapped) {
  const TokenBucketParams p{2, 1};
  auto s = bucket_full(p, 0);
  ASSERT_TRUE(bucket_take(s, p, 0).allowed);
  ASSERT_TRUE(bucket_take(s, p, 0).allowed);
  EXPECT_FALSE(bucket_take(s, p, 0).allowed);
  EXPECT_DOUBLE_EQ(s.tokens, 0);
  bucket_refund(s, p);
  EXPECT_DOUBLE_EQ(s.tokens, 1);
  bucket_refund(s, p);
  bucket_refund(s, p);
  EXPECT_DOUBLE_EQ(s.tokens, 2);
}

TEST(TokenBucket, PeekReportsWithoutTaking) {
  const TokenBucketParams p{2, 1};
  auto s = bucket_full(p, 0);
  const auto r = bucket_peek(s, p, 0);
  EXPECT_TRUE(r.allowed);
  EXPECT_DOUBLE_EQ(s.tokens, 2);
}

TEST(TokenBucket, CeilSeconds) {
  EXPECT_EQ(ceil_seconds(microseconds(0)), 0u);
  EXPECT_EQ(ceil_seconds(microseconds(1)), 1u);
  EXPECT_EQ(ceil_seconds(microseconds(kSecond)), 1u);
  EXPECT_EQ(ceil_seconds(microseconds(kSecond + 1)), 2u);
}

}  // namespace
}  // namespace gatewayd::ratelimit
