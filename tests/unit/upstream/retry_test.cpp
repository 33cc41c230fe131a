#include <gtest/gtest.h>

#include "test_helpers.hpp"
#include "upstream/clock.hpp"
#include "upstream/retry_budget.hpp"
#include "upstream/retry_evaluator.hpp"
#include "upstream/service_endpoints.hpp"
#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

RetryPolicy policy(unsigned retries = 2) {
  RetryPolicy p;
  p.retry_count = retries;
  p.backoff_base = 25ms;
  p.backoff_max = 1000ms;
  p.backoff_multiplier = 2.0;
  return p;
}

RetryContext ctx(std::string_view method, unsigned attempts = 1) {
  RetryContext c;
  c.method = method;
  c.attempts = attempts;
  c.now = Clock::time_point(1000s);
  c.deadline = c.now + 30s;
  return c;
}

TEST(RetryEvaluatorTest, IdempotentMethods) {
  for (auto m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}) EXPECT_TRUE(is_idempotent(m));
  for (auto m : {"POST", "PATCH", "CONNECT", "get", ""}) EXPECT_FALSE(is_idempotent(m)) << m;
}

TEST(RetryEvaluatorTest, BackoffCeilingGrowsAndCaps) {
  auto p = policy();
  const std::int64_t expected[] = {25, 50, 100, 200, 400, 800, 1000, 1000};
  for (unsigned i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(backoff_ceiling(p, i).count(), expected[i]) << i;
  }
  EXPECT_EQ(backoff_ceiling(p, 5000), 1000ms);  // no overflow for absurd indices
  p.backoff_multiplier = 3.0;
  EXPECT_EQ(backoff_ceiling(p, 2), 225ms);
  p.backoff_base = 0ms;
  EXPECT_EQ(backoff_ceiling(p, 3), 0ms);
}

TEST(RetryEvaluatorTest, FullJitterStaysWithinBoundsAndSpreads) {
  auto p = policy();
  FastRng rng(42);
  for (unsigned attempt = 0; attempt < 8; ++attempt) {
    const auto ceiling = backoff_ceiling(p, attempt);
    milliseconds lo = ceiling, hi = 0ms;
    for (int i = 0; i < 2000; ++i) {
      const auto d = backoff_delay(p, attempt, rng);
      ASSERT_GE(d, 0ms);
      ASSERT_LE(d, ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter covers the whole range, not just the top of it.
    EXPECT_LE(lo, ceiling / 10) << attempt;
    EXPECT_GE(hi, ceiling * 9 / 10) << attempt;
  }
}

TEST(RetryEvaluatorTest, RetriesConnectFailureTimeoutAndListedStatus) {
  FastRng rng(1);
  auto p = policy();
  auto v = evaluate_retry(p, AttemptOutcome::connect_error(), ctx("GET"), rng);
  EXPECT_TRUE(v.retry);
  EXPECT_EQ(v.reason, RetryReason::kConnectFailure);
  EXPECT_LE(v.backoff, 25ms);
  v = evaluate_retry(p, AttemptOutcome::protocol_error(), ctx("GET"), rng);
  EXPECT_TRUE(v.retry);
  EXPECT_EQ(v.reason, RetryReason::kConnectFailure);
  v = evaluate_retry(p, AttemptOutcome::timeout(), ctx("GET"), rng);
  EXPECT_TRUE(v.retry);
  EXPECT_EQ(v.reason, RetryReason::kPerTryTimeout);
  for (unsigned s : {502U, 503U, 504U}) {
    v = evaluate_retry(p, AttemptOutcome::response(s), ctx("GET"), rng);
    EXPECT_TRUE(v.retry) << s;
    EXPECT_EQ(v.reason, RetryReason::kStatus);
  }
  for (unsigned s : {200U, 404U, 500U, 501U}) {
    v = evaluate_retry(p, AttemptOutcome::response(s), ctx("GET"), rng);
    EXPECT_FALSE(v.retry) << s;
    EXPECT_EQ(v.denial, RetryDenial::kNotRetryable);
  }
  p.retry_on_timeout = false;
  p.retry_on_connect_failure = false;
  p.retry_on_status = {500};
  EXPECT_FALSE(evaluate_retry(p, AttemptOutcome::timeout(), ctx("GET"), rng).retry);
  EXPECT_FALSE(evaluate_retry(p, AttemptOutcome::connect_error(), ctx("GET"), rng).retry);
  EXPECT_TRUE(evaluate_retry(p, AttemptOutcome::response(500), ctx("GET"), rng).retry);
}

TEST(RetryEvaluatorTest, NonIdempotentNeedsOptInAndAKeptBody) {
  FastRng rng(1);
  auto p = policy();
  auto v = evaluate_retry(p, AttemptOutcome::connect_error(), ctx("POST"), rng);
  EXPECT_FALSE(v.retry);
  EXPECT_EQ(v.denial, RetryDenial::kNonIdempotent);
  p.retry_non_idempotent = true;
  EXPECT_TRUE(evaluate_retry(p, AttemptOutcome::connect_error(), ctx("POST"), rng).retry);
  auto c = ctx("POST");
  c.body_replayable = false;
  v = evaluate_retry(p, AttemptOutcome::connect_error(), c, rng);
  EXPECT_FALSE(v.retry);
  EXPECT_EQ(v.denial, RetryDenial::kBodyNotReplayable);
  // An idempotent PUT with a streamed body cannot be replayed either.
  c.method = "PUT";
  EXPECT_EQ(evaluate_retry(p, AttemptOutcome::connect_error(), c, rng).denial,
            RetryDenial::kBodyNotReplayable);
  EXPECT_TRUE(body_fits_for_retry(p, 64 * 1024));
  EXPECT_FALSE(body_fits_for_retry(p, 64 * 1024 + 1));
}

TEST(RetryEvaluatorTest, NeverAfterResponseBytesWentDownstream) {
  FastRng rng(1);
  auto c = ctx("GET");
  c.response_started = true;
  auto v = evaluate_retry(policy(), AttemptOutcome::protocol_error(), c, rng);
  EXPECT_FALSE(v.retry);
  EXPECT_EQ(v.denial, RetryDenial::kResponseStarted);
}

TEST(RetryEvaluatorTest, AttemptsAreBounded) {
  FastRng rng(1);
  auto p = policy(2);  // 3 attempts in total
  EXPECT_TRUE(evaluate_retry(p, AttemptOutcome::timeout(), ctx("GET", 1), rng).retry);
  EXPECT_TRUE(evaluate_retry(p, AttemptOutcome::timeout(), ctx("GET", 2), rng).retry);
  auto v = evaluate_retry(p, AttemptOutcome::timeout(), ctx("GET", 3), rng);
  EXPECT_FALSE(v.retry);
  EXPECT_EQ(v.denial, RetryDenial::kAttemptsExhausted);
  EXPECT_FALSE(evaluate_retry(policy(0), AttemptOutcome::timeout(), ctx("GET", 1), rng).retry);
}

TEST(RetryEvaluatorTest, DeadlineBoundsTheBackoff) {
  FastRng rng(1);
  auto p = policy();
  p.backoff_base = 100ms;
  auto c = ctx("GET");
  c.deadline = c.now;  // no time left at all
  auto v = evaluate_retry(p, AttemptOutcome::timeout(), c, rng);
  EXPECT_FALSE(v.retry);
  EXPECT_EQ(v.denial, RetryDenial::kDeadline);
  // With time left the backoff fits before the deadline.
  c.deadline = c.now + 101ms;
  for (int i = 0; i < 100; ++i) {
    v = evaluate_retry(p, AttemptOutcome::timeout(), c, rng);
    ASSERT_TRUE(v.retry);
    ASSERT_LT(c.now + v.backoff, c.deadline);
  }
}

TEST(RetryEvaluatorTest, Names) {
  EXPECT_EQ(retry_reason_name(RetryReason::kConnectFailure), "connect_failure");
  EXPECT_EQ(retry_reason_name(RetryReason::kPerTryTimeout), "per_try_timeout");
  EXPECT_EQ(retry_reason_name(RetryReason::kStatus), "status");
  EXPECT_EQ(retry_denial_name(RetryDenial::kBudgetExhausted), "budget_exhausted");
}

TEST(RetryBudgetTest, PercentOfRequests) {
  ManualClock clock;
  RetryBudgetPolicy p;
  p.budget_percent = 20;
  p.min_retries_per_second = 0;
  p.window = 10s;
  RetryBudget budget(p, clock);
  EXPECT_FALSE(budget.try_acquire());  // no requests, no floor: nothing
  for (int i = 0; i < 100; ++i) budget.record_request();
  int granted = 0;
  for (int i = 0; i < 50; ++i) granted += budget.try_acquire() ? 1 : 0;
  EXPECT_EQ(granted, 20);
  EXPECT_EQ(budget.exhausted_total(), 31U);
  EXPECT_EQ(budget.counts().requests, 100U);
  EXPECT_EQ(budget.counts().retries, 20U);
  // More traffic, more room: 50 more requests allow 10 more retries.
  for (int i = 0; i < 50; ++i) budget.record_request();
  granted = 0;
  for (int i = 0; i < 50; ++i) granted += budget.try_acquire() ? 1 : 0;
  EXPECT_EQ(granted, 10);
}

TEST(RetryBudgetTest, FloorPerSecond) {
  ManualClock clock;
  RetryBudgetPolicy p;
  p.budget_percent = 20;
  p.min_retries_per_second = 3;
  p.window = 10s;
  RetryBudget budget(p, clock);
  EXPECT_DOUBLE_EQ(budget.allowance(0), 30.0);
  EXPECT_DOUBLE_EQ(budget.allowance(1000), 200.0);
  int granted = 0;
  for (int i = 0; i < 100; ++i) granted += budget.try_acquire() ? 1 : 0;
  EXPECT_EQ(granted, 30);
}

TEST(RetryBudgetTest, WindowSlides) {
  ManualClock clock;
  RetryBudgetPolicy p;
  p.budget_percent = 50;
  p.min_retries_per_second = 0;
  p.window = 10s;
  RetryBudget budget(p, clock);
  for (int i = 0; i < 10; ++i) budget.record_request();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(budget.try_acquire());
  EXPECT_FALSE(budget.try_acquire());
  clock.advance(11s);  // old requests and retries are gone together
  EXPECT_EQ(budget.counts().requests, 0U);
  EXPECT_FALSE(budget.try_acquire());
  for (int i = 0; i < 4; ++i) budget.record_request();
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_FALSE(budget.try_acquire());
}

TEST(RetryBudgetTest, ServiceRetryCountsMetricsAndStopsAtTheBudget) {
  ManualClock clock;
  EndpointRegistry registry(clock);
  ServiceConfig c;
  c.name = "retry-metrics-svc";
  c.instances = {test::instance("a", 80), test::instance("b", 80)};
  c.retry_budget.budget_percent = 10;
  c.retry_budget.min_retries_per_second = 0;
  auto svc = ServiceEndpoints::build(registry, c);
  auto& retries = metric::retries(c.name, "per_try_timeout");
  auto& exhausted = metric::retry_budget_exhausted(c.name);
  const auto retries_before = retries.value();
  const auto exhausted_before = exhausted.value();

  for (int i = 0; i < 50; ++i) svc->record_request();
  auto context = ctx("GET");
  context.now = clock.now();
  context.deadline = clock.now() + 30s;
  int granted = 0;
  for (int i = 0; i < 10; ++i) {
    auto v = svc->should_retry(policy(), AttemptOutcome::timeout(), context);
    if (v.retry) {
      ++granted;
    } else {
      EXPECT_EQ(v.denial, RetryDenial::kBudgetExhausted);
    }
  }
  EXPECT_EQ(granted, 5);
  EXPECT_EQ(retries.value() - retries_before, 5U);
  EXPECT_EQ(exhausted.value() - exhausted_before, 5U);
  // A denial by policy does not spend the budget or count as exhaustion.
  auto v = svc->should_retry(policy(), AttemptOutcome::response(404), context);
  EXPECT_EQ(v.denial, RetryDenial::kNotRetryable);
  EXPECT_EQ(exhausted.value() - exhausted_before, 5U);
}

}  // namespace
}  // namespace gatewayd::upstream
