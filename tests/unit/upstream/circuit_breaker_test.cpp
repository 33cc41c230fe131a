#include "upstream/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_helpers.hpp"
#include "upstream/clock.hpp"

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;
using test::exact_policy;
using test::RecordingObserver;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();

  std::unique_ptr<CircuitBreaker> make(const CircuitBreakerPolicy& policy = exact_policy()) {
    return std::make_unique<CircuitBreaker>("svc", "10.0.0.1:80", policy, clock_, observer_);
  }
  static void fail(CircuitBreaker& b, int n = 1) {
    for (int i = 0; i < n; ++i) {
      auto p = b.allow();
      ASSERT_TRUE(p.allowed);
      b.on_failure(p, FailureKind::kConnect);
    }
  }
  static void succeed(CircuitBreaker& b, int n = 1) {
    for (int i = 0; i < n; ++i) {
      auto p = b.allow();
      ASSERT_TRUE(p.allowed);
      b.on_success(p);
    }
  }
  // Opens the breaker and lets its open time pass, so the next allow() goes half-open.
  void open_and_wait(CircuitBreaker& b) {
    fail(b, 3);
    ASSERT_EQ(b.state(), CircuitState::kOpen);
    clock_.advance(1000ms);
  }
};

TEST_F(CircuitBreakerTest, StartsClosedAndAllows) {
  auto b = make();
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  auto p = b->allow();
  EXPECT_TRUE(p.allowed);
  EXPECT_FALSE(p.probe);
  EXPECT_EQ(observer_->created(), std::vector<std::string>{"svc/10.0.0.1:80"});
}

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailures) {
  auto b = make();
  fail(*b, 2);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  fail(*b);
  EXPECT_EQ(b->state(), CircuitState::kOpen);
  auto t = observer_->transitions();
  ASSERT_EQ(t.size(), 1U);
  EXPECT_EQ(t[0].from, CircuitState::kClosed);
  EXPECT_EQ(t[0].to, CircuitState::kOpen);
  EXPECT_EQ(t[0].reason, "consecutive_failures");
  EXPECT_EQ(t[0].failure_count, 3U);
}

TEST_F(CircuitBreakerTest, SuccessBreaksTheStreak) {
  auto b = make();
  fail(*b, 2);
  succeed(*b);
  fail(*b, 2);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  EXPECT_EQ(b->snapshot().consecutive_failures, 2U);
  fail(*b);
  EXPECT_EQ(b->state(), CircuitState::kOpen);
}

TEST_F(CircuitBreakerTest, OpenRefusesWithRetryAfterUntilTimeout) {
  auto b = make();
  fail(*b, 3);
  auto p = b->allow();
  EXPECT_FALSE(p.allowed);
  EXPECT_EQ(p.retry_after, 1000ms);
  EXPECT_FALSE(b->would_allow(clock_.now()));

  clock_.advance(999ms);
  p = b->allow();
  EXPECT_FALSE(p.allowed);
  EXPECT_EQ(p.retry_after, 1ms);
  EXPECT_EQ(b->state(), CircuitState::kOpen);

  clock_.advance(1ms);
  EXPECT_TRUE(b->would_allow(clock_.now()));
  EXPECT_EQ(b->state(), CircuitState::kOpen);  // the switch happens on the next allow()
  p = b->allow();
  EXPECT_TRUE(p.allowed);
  EXPECT_TRUE(p.probe);
  EXPECT_EQ(b->state(), CircuitState::kHalfOpen);
  auto t = observer_->transitions();
  ASSERT_EQ(t.size(), 2U);
  EXPECT_EQ(t[1].reason, "open_timeout");
  EXPECT_EQ(t[1].from, CircuitState::kOpen);
  EXPECT_EQ(t[1].to, CircuitState::kHalfOpen);
}

TEST_F(CircuitBreakerTest, RetryAfterRoundsUp) {
  auto b = make();
  fail(*b, 3);
  clock_.advance(std::chrono::microseconds(999'500));
  EXPECT_EQ(b->allow().retry_after, 1ms);
}

TEST_F(CircuitBreakerTest, HalfOpenAdmitsOnlyMaxProbes) {
  auto b = make();  // half_open_max_requests = 2
  open_and_wait(*b);
  auto p1 = b->allow();
  auto p2 = b->allow();
  auto p3 = b->allow();
  EXPECT_TRUE(p1.allowed && p1.probe);
  EXPECT_TRUE(p2.allowed && p2.probe);
  EXPECT_FALSE(p3.allowed);
  EXPECT_GT(p3.retry_after.count(), 0);
  EXPECT_FALSE(b->would_allow(clock_.now()));
  EXPECT_EQ(b->snapshot().probes_in_flight, 2U);

  // One success frees its slot but does not close yet (success_threshold = 2).
  b->on_success(p1);
  EXPECT_EQ(b->state(), CircuitState::kHalfOpen);
  auto p4 = b->allow();
  EXPECT_TRUE(p4.allowed && p4.probe);
  EXPECT_FALSE(b->allow().allowed);
}

TEST_F(CircuitBreakerTest, HalfOpenClosesAfterSuccessThreshold) {
  auto b = make();
  open_and_wait(*b);
  auto p1 = b->allow();
  auto p2 = b->allow();
  b->on_success(p1);
  EXPECT_EQ(b->state(), CircuitState::kHalfOpen);
  b->on_success(p2);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  auto t = observer_->transitions();
  ASSERT_EQ(t.size(), 3U);
  EXPECT_EQ(t[2].reason, "probe_success");
  EXPECT_EQ(t[2].success_count, 2U);
  // Closed again with a clean slate: it takes a full streak to open.
  fail(*b, 2);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
}

TEST_F(CircuitBreakerTest, SuccessThresholdAboveProbeLimitStillCloses) {
  auto policy = exact_policy();
  policy.half_open_max_requests = 1;
  policy.success_threshold = 3;
  auto b = make(policy);
  open_and_wait(*b);
  for (int i = 0; i < 3; ++i) {
    auto p = b->allow();
    ASSERT_TRUE(p.allowed && p.probe) << i;
    EXPECT_FALSE(b->allow().allowed);
    b->on_success(p);
  }
  EXPECT_EQ(b->state(), CircuitState::kClosed);
}

TEST_F(CircuitBreakerTest, HalfOpenFailureReopens) {
  auto b = make();
  open_and_wait(*b);
  auto p1 = b->allow();
  auto p2 = b->allow();
  b->on_success(p1);
  b->on_failure(p2, FailureKind::kTimeout);
  EXPECT_EQ(b->state(), CircuitState::kOpen);
  auto p = b->allow();
  EXPECT_FALSE(p.allowed);
  EXPECT_EQ(p.retry_after, 1000ms);  // a full new open period
  auto t = observer_->transitions();
  ASSERT_EQ(t.size(), 3U);
  EXPECT_EQ(t[2].reason, "probe_failure");
  EXPECT_EQ(t[2].from, CircuitState::kHalfOpen);
  EXPECT_EQ(t[2].to, CircuitState::kOpen);
}

TEST_F(CircuitBreakerTest, CancelFreesProbeSlot) {
  auto b = make();
  open_and_wait(*b);
  auto p1 = b->allow();
  auto p2 = b->allow();
  EXPECT_FALSE(b->allow().allowed);
  b->on_cancel(p1);
  EXPECT_EQ(b->state(), CircuitState::kHalfOpen);
  auto p3 = b->allow();
  EXPECT_TRUE(p3.allowed && p3.probe);
  (void)p2;
}

TEST_F(CircuitBreakerTest, LostProbesAreReclaimedAfterOpenTimeout) {
  auto b = make();
  open_and_wait(*b);
  (void)b->allow();
  (void)b->allow();
  EXPECT_FALSE(b->allow().allowed);
  clock_.advance(999ms);
  EXPECT_FALSE(b->allow().allowed);
  clock_.advance(1ms);
  EXPECT_TRUE(b->allow().allowed);
}

TEST_F(CircuitBreakerTest, StalePermitsAreIgnored) {
  auto b = make();
  auto old = b->allow();  // issued while closed
  fail(*b, 3);
  clock_.advance(1000ms);
  auto probe = b->allow();
  ASSERT_EQ(b->state(), CircuitState::kHalfOpen);
  // The slow request from before the breaker opened finally fails: it must not reopen.
  b->on_failure(old, FailureKind::kTimeout);
  EXPECT_EQ(b->state(), CircuitState::kHalfOpen);
  // Nor may its success count as a probe success.
  b->on_success(old);
  b->on_success(probe);
  EXPECT_EQ(b->state(), CircuitState::kHalfOpen);
  EXPECT_EQ(b->snapshot().probe_successes, 1U);
}

TEST_F(CircuitBreakerTest, ResetClosesAndClears) {
  auto b = make();
  fail(*b, 3);
  ASSERT_EQ(b->state(), CircuitState::kOpen);
  b->reset();
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  EXPECT_TRUE(b->allow().allowed);
  auto t = observer_->transitions();
  ASSERT_EQ(t.size(), 2U);
  EXPECT_EQ(t[1].reason, "reset");
  EXPECT_EQ(t[1].to, CircuitState::kClosed);

  // Reset while closed clears the streak without a transition.
  fail(*b, 2);
  b->reset();
  fail(*b, 2);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  EXPECT_EQ(observer_->transitions().size(), 2U);
}

TEST_F(CircuitBreakerTest, FailureRatioOverWindowNeedsMinimumRequests) {
  auto policy = exact_policy();
  policy.failure_threshold = 0;  // ratio only
  policy.failure_ratio = 0.5;
  policy.window_min_requests = 10;
  policy.window = 10s;
  auto b = make(policy);
  // Alternate so no streak forms: F S F S ... 9 requests, 5 failures: under the minimum.
  for (int i = 0; i < 9; ++i) {
    auto p = b->allow();
    if (i % 2 == 0) {
      b->on_failure(p, FailureKind::kStatus);
    } else {
      b->on_success(p);
    }
  }
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  auto s = b->snapshot();
  EXPECT_EQ(s.window_requests, 9U);
  EXPECT_EQ(s.window_failures, 5U);
  // 10th request fails: 6/10 >= 0.5 with the minimum reached.
  fail(*b);
  EXPECT_EQ(b->state(), CircuitState::kOpen);
  EXPECT_EQ(observer_->transitions().back().reason, "failure_ratio");
}

TEST_F(CircuitBreakerTest, FailureRatioBelowThresholdStaysClosed) {
  auto policy = exact_policy();
  policy.failure_threshold = 0;
  policy.failure_ratio = 0.5;
  policy.window_min_requests = 10;
  auto b = make(policy);
  for (int i = 0; i < 100; ++i) {
    auto p = b->allow();
    if (i % 3 == 0) {
      b->on_failure(p, FailureKind::kStatus);  // 34%
    } else {
      b->on_success(p);
    }
  }
  EXPECT_EQ(b->state(), CircuitState::kClosed);
}

TEST_F(CircuitBreakerTest, OldFailuresLeaveTheWindow) {
  auto policy = exact_policy();
  policy.failure_threshold = 0;
  policy.failure_ratio = 0.5;
  policy.window_min_requests = 4;
  policy.window = 10s;
  auto b = make(policy);
  fail(*b, 3);  // 3/3, but under the minimum
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  clock_.advance(11s);  // they slide out
  EXPECT_EQ(b->snapshot().window_requests, 0U);
  succeed(*b, 3);
  fail(*b);  // 1/4: no trip
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  fail(*b);  // 2/5 = 0.4
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  fail(*b);  // 3/6 = 0.5
  EXPECT_EQ(b->state(), CircuitState::kOpen);
}

TEST_F(CircuitBreakerTest, OpenTimeoutJitterStaysInBounds) {
  auto policy = exact_policy();
  policy.open_timeout_jitter = 0.5;
  bool saw_jitter = false;
  for (int i = 0; i < 200; ++i) {
    auto b = make(policy);
    fail(*b, 3);
    const auto wait = b->allow().retry_after;
    ASSERT_GE(wait, 1000ms);
    ASSERT_LE(wait, 1500ms);
    saw_jitter = saw_jitter || wait > 1001ms;
  }
  EXPECT_TRUE(saw_jitter);
}

TEST_F(CircuitBreakerTest, DisabledAlwaysAllows) {
  auto policy = exact_policy();
  policy.enabled = false;
  auto b = make(policy);
  for (int i = 0; i < 10; ++i) fail(*b);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  EXPECT_TRUE(b->allow().allowed);
}

TEST_F(CircuitBreakerTest, DisablingAnOpenBreakerClosesIt) {
  auto b = make();
  fail(*b, 3);
  auto policy = exact_policy();
  policy.enabled = false;
  b->update_policy(policy);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  EXPECT_EQ(observer_->transitions().back().reason, "disabled");
}

TEST_F(CircuitBreakerTest, PolicyUpdateKeepsState) {
  auto b = make();
  fail(*b, 3);
  auto policy = exact_policy();
  policy.failure_threshold = 10;
  b->update_policy(policy);
  EXPECT_EQ(b->state(), CircuitState::kOpen);
  clock_.advance(1000ms);
  auto p = b->allow();
  b->on_success(p);
  b->on_success(b->allow());
  ASSERT_EQ(b->state(), CircuitState::kClosed);
  fail(*b, 9);
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  fail(*b);
  EXPECT_EQ(b->state(), CircuitState::kOpen);
}

TEST_F(CircuitBreakerTest, ClassificationFollowsPolicy) {
  auto policy = exact_policy();
  policy.failure_on_timeout = false;
  policy.failure_statuses = {429};
  auto b = make(policy);
  EXPECT_EQ(b->classify(AttemptOutcome::response(503)), FailureKind::kStatus);
  EXPECT_EQ(b->classify(AttemptOutcome::response(429)), FailureKind::kStatus);
  EXPECT_EQ(b->classify(AttemptOutcome::response(404)), std::nullopt);
  EXPECT_EQ(b->classify(AttemptOutcome::response(200)), std::nullopt);
  EXPECT_EQ(b->classify(AttemptOutcome::timeout()), std::nullopt);
  EXPECT_EQ(b->classify(AttemptOutcome::connect_error()), FailureKind::kConnect);
  EXPECT_EQ(b->classify(AttemptOutcome::protocol_error()), FailureKind::kProtocol);

  // And it matches the reference classification.
  for (unsigned status : {100U, 200U, 301U, 404U, 429U, 500U, 502U, 599U, 600U, 999U}) {
    EXPECT_EQ(b->classify(AttemptOutcome::response(status)),
              classify_failure(policy, AttemptOutcome::response(status)))
        << status;
  }

  // record() uses it: timeouts do not count, 429s do.
  for (int i = 0; i < 5; ++i) b->record(b->allow(), AttemptOutcome::timeout());
  EXPECT_EQ(b->state(), CircuitState::kClosed);
  for (int i = 0; i < 3; ++i) b->record(b->allow(), AttemptOutcome::response(429));
  EXPECT_EQ(b->state(), CircuitState::kOpen);
}

TEST_F(CircuitBreakerTest, No5xxClassificationWhenTurnedOff) {
  CircuitBreakerPolicy policy;
  policy.failure_on_5xx = false;
  EXPECT_EQ(classify_failure(policy, AttemptOutcome::response(500)), std::nullopt);
  policy.failure_statuses = {503};
  EXPECT_EQ(classify_failure(policy, AttemptOutcome::response(503)), FailureKind::kStatus);
  EXPECT_EQ(classify_failure(policy, AttemptOutcome::response(502)), std::nullopt);
}

TEST_F(CircuitBreakerTest, ConcurrentHalfOpenNeverExceedsProbeLimit) {
  auto policy = exact_policy();
  policy.half_open_max_requests = 3;
  policy.success_threshold = 1'000'000;  // stay half-open
  auto b = make(policy);
  open_and_wait(*b);
  auto first = b->allow();  // now half-open, one slot taken...
  ASSERT_TRUE(first.allowed);
  b->on_cancel(first);  // ...and given back

  std::atomic<int> in_flight{0};
  std::atomic<int> max_seen{0};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20'000; ++i) {
        auto p = b->allow();
        if (!p.allowed) continue;
        ASSERT_TRUE(p.probe);
        const int now = in_flight.fetch_add(1) + 1;
        int seen = max_seen.load();
        while (now > seen && !max_seen.compare_exchange_weak(seen, now)) {
        }
        admitted.fetch_add(1);
        in_flight.fetch_sub(1);
        if ((i + t) % 2 == 0) {
          b->on_success(p);
        } else {
          b->on_cancel(p);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(max_seen.load(), 3);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(b->state(), CircuitState::kHalfOpen);
  EXPECT_EQ(b->snapshot().probes_in_flight, 0U);
}

TEST_F(CircuitBreakerTest, ConcurrentMixedTrafficKeepsAConsistentStateMachine) {
  auto policy = exact_policy();
  policy.failure_ratio = 0.5;
  policy.window_min_requests = 50;
  auto b = make(policy);
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    while (!done.load()) {
      clock_.advance(10ms);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20'000; ++i) {
        auto p = b->allow();
        if (!p.allowed) continue;
        if ((i * 7 + t) % 5 == 0) {
          b->on_failure(p, FailureKind::kConnect);
        } else {
          b->on_success(p);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  ticker.join();

  // Every reported transition follows the state machine, in order.
  auto transitions = observer_->transitions();
  CircuitState state = CircuitState::kClosed;
  for (const auto& tr : transitions) {
    ASSERT_EQ(tr.from, state);
    switch (tr.from) {
      case CircuitState::kClosed:
        EXPECT_EQ(tr.to, CircuitState::kOpen);
        break;
      case CircuitState::kOpen:
        EXPECT_EQ(tr.to, CircuitState::kHalfOpen);
        break;
      case CircuitState::kHalfOpen:
        EXPECT_NE(tr.to, CircuitState::kHalfOpen);
        break;
    }
    state = tr.to;
  }
  EXPECT_EQ(b->state(), state);
  EXPECT_EQ(b->snapshot().generation, transitions.size());
  EXPECT_LE(b->snapshot().probes_in_flight, 2U);
}

}  // namespace
}  // namespace gatewayd::upstream
