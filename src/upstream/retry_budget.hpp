#pragma once
// Caps retries per service so a failing upstream does not see its traffic multiplied: over the
// sliding window, retries may not exceed max(budget_percent% of requests,
// min_retries_per_second * window). Thread-safe and lock-free; under concurrency the cap can
// be overshot by at most the number of threads racing for the last retry.
#include <atomic>
#include <cstdint>

#include "gatewayd/config.hpp"
#include "upstream/clock.hpp"
#include "upstream/sliding_window.hpp"

namespace gatewayd::upstream {

class RetryBudget {
 public:
  RetryBudget(const RetryBudgetPolicy& policy, const Clock& clock);

  // Call once per downstream request that reaches the upstream stage (not per attempt).
  void record_request() noexcept;
  // True (and the retry is counted) when the budget has room for one more retry.
  bool try_acquire() noexcept;

  // How many retries the window allows now, given `requests` in it.
  double allowance(std::uint64_t requests) const noexcept;

  struct Counts {
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
  };
  Counts counts() const noexcept;
  std::uint64_t exhausted_total() const noexcept {
    return exhausted_.load(std::memory_order_relaxed);
  }

  void update_policy(const RetryBudgetPolicy& policy) noexcept;

 private:
  const Clock& clock_;
  SlidingWindow window_;  // total = requests, marked = retries
  std::atomic<double> budget_ratio_{0.2};
  std::atomic<double> floor_per_window_{30.0};
  std::atomic<std::uint64_t> exhausted_{0};
};

}  // namespace gatewayd::upstream
