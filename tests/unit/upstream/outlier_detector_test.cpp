#include "upstream/outlier_detector.hpp"

#include <gtest/gtest.h>

#include "test_helpers.hpp"
#include "upstream/clock.hpp"
#include "upstream/load_balancer.hpp"
#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;

class OutlierTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  EndpointList endpoints_;
  std::mutex mutex_;

  void make(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      endpoints_.push_back(std::make_shared<Endpoint>(
          "outlier-svc", test::instance("10.1.0." + std::to_string(i), 80), test::exact_policy(),
          clock_));
    }
  }
  static OutlierPolicy policy() {
    OutlierPolicy p;
    p.consecutive_5xx = 3;
    p.consecutive_gateway_failures = 2;
    p.base_ejection_time = 10s;
    p.max_ejection_time = 35s;
    p.max_ejection_percent = 50;
    return p;
  }
  bool feed(const OutlierDetector& d, std::size_t i, AttemptOutcome o, int times = 1) {
    bool ejected = false;
    for (int k = 0; k < times; ++k) {
      ejected = d.observe(*endpoints_[i], o, endpoints_, mutex_, clock_.now()) || ejected;
    }
    return ejected;
  }
};

TEST_F(OutlierTest, Consecutive5xxEjects) {
  make(2);
  OutlierDetector d(policy());
  auto& counter = metric::outlier_ejections("outlier-svc", "10.1.0.0:80");
  const auto before = counter.value();
  EXPECT_FALSE(feed(d, 0, AttemptOutcome::response(500), 2));
  EXPECT_FALSE(endpoints_[0]->ejected(clock_.now()));
  EXPECT_TRUE(feed(d, 0, AttemptOutcome::response(503)));
  EXPECT_TRUE(endpoints_[0]->ejected(clock_.now()));
  EXPECT_FALSE(endpoints_[0]->available(clock_.now()));
  EXPECT_EQ(endpoints_[0]->ejected_until(), clock_.now() + 10s);
  EXPECT_EQ(counter.value() - before, 1U);
}

TEST_F(OutlierTest, NonErrorAnswerBreaksTheStreak) {
  make(2);
  OutlierDetector d(policy());
  feed(d, 0, AttemptOutcome::response(500), 2);
  feed(d, 0, AttemptOutcome::response(404));
  EXPECT_FALSE(feed(d, 0, AttemptOutcome::response(500), 2));
  EXPECT_FALSE(endpoints_[0]->ejected(clock_.now()));
}

TEST_F(OutlierTest, ConsecutiveGatewayFailuresEject) {
  make(2);
  OutlierDetector d(policy());
  EXPECT_FALSE(feed(d, 1, AttemptOutcome::connect_error()));
  feed(d, 1, AttemptOutcome::response(500));  // any answer resets the connect streak
  EXPECT_FALSE(feed(d, 1, AttemptOutcome::timeout()));
  EXPECT_TRUE(feed(d, 1, AttemptOutcome::connect_error()));
  EXPECT_TRUE(endpoints_[1]->ejected(clock_.now()));
}

TEST_F(OutlierTest, UnejectedWhenTimePasses) {
  make(2);
  OutlierDetector d(policy());
  feed(d, 0, AttemptOutcome::connect_error(), 2);
  clock_.advance(9999ms);
  EXPECT_TRUE(endpoints_[0]->ejected(clock_.now()));
  clock_.advance(1ms);
  EXPECT_FALSE(endpoints_[0]->ejected(clock_.now()));
  EXPECT_TRUE(endpoints_[0]->available(clock_.now()));
}

TEST_F(OutlierTest, EjectionTimeGrowsAndIsCapped) {
  make(2);
  OutlierDetector d(policy());
  EXPECT_EQ(d.ejection_time(1), 10s);
  EXPECT_EQ(d.ejection_time(2), 20s);
  EXPECT_EQ(d.ejection_time(3), 30s);
  EXPECT_EQ(d.ejection_time(4), 35s);
  EXPECT_EQ(d.ejection_time(4'000'000'000U), 35s);

  for (auto expected : {10s, 20s, 30s, 35s}) {
    ASSERT_TRUE(feed(d, 0, AttemptOutcome::connect_error(), 2));
    EXPECT_EQ(endpoints_[0]->ejected_until() - clock_.now(), expected);
    clock_.advance(expected);
  }
}

TEST_F(OutlierTest, MultiplierStartsOverAfterAQuietPeriod) {
  make(2);
  OutlierDetector d(policy());
  ASSERT_TRUE(feed(d, 0, AttemptOutcome::connect_error(), 2));
  clock_.advance(10s);
  ASSERT_TRUE(feed(d, 0, AttemptOutcome::connect_error(), 2));
  EXPECT_EQ(endpoints_[0]->ejected_until() - clock_.now(), 20s);
  clock_.advance(20s + 35s);  // back in for max_ejection_time
  ASSERT_TRUE(feed(d, 0, AttemptOutcome::connect_error(), 2));
  EXPECT_EQ(endpoints_[0]->ejected_until() - clock_.now(), 10s);
}

TEST_F(OutlierTest, MaxEjectedShare) {
  EXPECT_EQ(OutlierDetector::max_ejected(10, 10), 1U);
  EXPECT_EQ(OutlierDetector::max_ejected(10, 35), 3U);
  EXPECT_EQ(OutlierDetector::max_ejected(4, 50), 2U);
  EXPECT_EQ(OutlierDetector::max_ejected(2, 10), 1U);  // at least one
  EXPECT_EQ(OutlierDetector::max_ejected(1, 10), 1U);
  EXPECT_EQ(OutlierDetector::max_ejected(3, 100), 3U);
  EXPECT_EQ(OutlierDetector::max_ejected(3, 250), 3U);
  EXPECT_EQ(OutlierDetector::max_ejected(10, 0), 0U);  // off
  EXPECT_EQ(OutlierDetector::max_ejected(0, 50), 0U);
}

TEST_F(OutlierTest, CapLimitsSimultaneousEjections) {
  make(4);  // 50% of 4: two at most
  OutlierDetector d(policy());
  EXPECT_TRUE(feed(d, 0, AttemptOutcome::connect_error(), 2));
  EXPECT_TRUE(feed(d, 1, AttemptOutcome::connect_error(), 2));
  EXPECT_FALSE(feed(d, 2, AttemptOutcome::connect_error(), 2));
  EXPECT_FALSE(endpoints_[2]->ejected(clock_.now()));
  // The refused one needs a full streak again once room frees up.
  clock_.advance(10s);
  EXPECT_FALSE(feed(d, 2, AttemptOutcome::connect_error()));
  EXPECT_TRUE(feed(d, 2, AttemptOutcome::connect_error()));
}

TEST_F(OutlierTest, SingleEndpointServiceCanBeEjected) {
  make(1);
  auto p = policy();
  p.max_ejection_percent = 10;
  OutlierDetector d(p);
  EXPECT_TRUE(feed(d, 0, AttemptOutcome::response(502), 3));
}

TEST_F(OutlierTest, DisabledOrZeroPercentNeverEjects) {
  make(2);
  auto p = policy();
  p.enabled = false;
  EXPECT_FALSE(feed(OutlierDetector(p), 0, AttemptOutcome::connect_error(), 10));
  p.enabled = true;
  p.max_ejection_percent = 0;
  EXPECT_FALSE(feed(OutlierDetector(p), 0, AttemptOutcome::connect_error(), 10));
  p.max_ejection_percent = 50;
  p.consecutive_gateway_failures = 0;
  EXPECT_FALSE(feed(OutlierDetector(p), 0, AttemptOutcome::connect_error(), 10));
}

TEST_F(OutlierTest, ClearRestores) {
  make(2);
  OutlierDetector d(policy());
  feed(d, 0, AttemptOutcome::connect_error(), 2);
  OutlierDetector::clear(*endpoints_[0]);
  EXPECT_FALSE(endpoints_[0]->ejected(clock_.now()));
  // Multiplier cleared too.
  feed(d, 0, AttemptOutcome::connect_error(), 2);
  EXPECT_EQ(endpoints_[0]->ejected_until() - clock_.now(), 10s);
}

}  // namespace
}  // namespace gatewayd::upstream
