#pragma once
// Lock-free counts over a sliding time window, for failure ratios and retry budgets. The
// window is split into kBuckets buckets; each bucket is one 64-bit word holding its time slot
// and two counters, so an update is a single CAS and never loses a count. The sum covers the
// current (partial) bucket and the kBuckets-1 before it.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "upstream/clock.hpp"

namespace gatewayd::upstream {

class SlidingWindow {
 public:
  static constexpr std::size_t kBuckets = 10;
  // Per bucket each counter saturates here; at 10 buckets per window that is ~10M events per
  // window, far beyond what one endpoint sees.
  static constexpr std::uint32_t kMaxCount = (1U << 20) - 1;

  struct Counts {
    std::uint64_t total = 0;
    std::uint64_t marked = 0;
  };

  explicit SlidingWindow(std::chrono::milliseconds window) noexcept;

  // Adds to the bucket of `now`.
  void add(Clock::time_point now, std::uint32_t total, std::uint32_t marked) noexcept;
  Counts sum(Clock::time_point now) const noexcept;
  void reset() noexcept;
  // Changes the window length; the counts are cleared.
  void set_window(std::chrono::milliseconds window) noexcept;
  std::chrono::milliseconds window() const noexcept;

 private:
  std::int64_t slot_of(Clock::time_point now) const noexcept;

  std::atomic<std::int64_t> bucket_ns_;
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
};

}  // namespace gatewayd::upstream
