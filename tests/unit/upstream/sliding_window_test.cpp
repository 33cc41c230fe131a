#include "upstream/sliding_window.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "upstream/clock.hpp"

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;

TEST(SlidingWindowTest, CountsWithinTheWindow) {
  ManualClock clock;
  SlidingWindow w(10s);
  EXPECT_EQ(w.window(), 10s);
  w.add(clock.now(), 1, 0);
  w.add(clock.now(), 1, 1);
  clock.advance(5s);
  w.add(clock.now(), 3, 2);
  auto c = w.sum(clock.now());
  EXPECT_EQ(c.total, 5U);
  EXPECT_EQ(c.marked, 3U);
  clock.advance(5s + 1ms);  // the first bucket has left the window
  c = w.sum(clock.now());
  EXPECT_EQ(c.total, 3U);
  EXPECT_EQ(c.marked, 2U);
  clock.advance(10s);
  c = w.sum(clock.now());
  EXPECT_EQ(c.total, 0U);
}

TEST(SlidingWindowTest, ReusedBucketStartsFromZero) {
  ManualClock clock;
  SlidingWindow w(1s);
  w.add(clock.now(), 7, 7);
  clock.advance(1s);  // same bucket slot, next lap
  w.add(clock.now(), 1, 0);
  auto c = w.sum(clock.now());
  EXPECT_EQ(c.total, 1U);
  EXPECT_EQ(c.marked, 0U);
}

TEST(SlidingWindowTest, SaturatesInsteadOfWrapping) {
  ManualClock clock;
  SlidingWindow w(10s);
  w.add(clock.now(), SlidingWindow::kMaxCount, 0);
  w.add(clock.now(), 10, 10);
  auto c = w.sum(clock.now());
  EXPECT_EQ(c.total, SlidingWindow::kMaxCount);
  EXPECT_EQ(c.marked, 10U);
}

TEST(SlidingWindowTest, ResetAndResize) {
  ManualClock clock;
  SlidingWindow w(10s);
  w.add(clock.now(), 4, 2);
  w.set_window(2s);
  EXPECT_EQ(w.window(), 2s);
  EXPECT_EQ(w.sum(clock.now()).total, 0U);
  w.add(clock.now(), 4, 2);
  w.reset();
  EXPECT_EQ(w.sum(clock.now()).total, 0U);
}

TEST(SlidingWindowTest, ConcurrentAddsAreNotLost) {
  ManualClock clock;
  SlidingWindow w(10s);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50'000; ++i) w.add(clock.now(), 1, i % 2);
    });
  }
  for (auto& th : threads) th.join();
  auto c = w.sum(clock.now());
  EXPECT_EQ(c.total, 200'000U);
  EXPECT_EQ(c.marked, 100'000U);
}

}  // namespace
}  // namespace gatewayd::upstream
