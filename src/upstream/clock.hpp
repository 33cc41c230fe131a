#pragma once
// Time source for the resilience state machines. Everything that decides by time (breakers,
// ejections, budgets) reads it through a Clock so tests can drive time by hand.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace gatewayd::upstream {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual time_point now() const noexcept = 0;

  // The process steady clock. Stateless, so sharing one instance is safe.
  static const Clock& steady() noexcept;
};

// A clock that only moves when told to. Thread-safe; starts well after the epoch so that a
// zero time stamp can mean "never".
class ManualClock final : public Clock {
 public:
  ManualClock() = default;
  time_point now() const noexcept override {
    return time_point(duration(ticks_.load(std::memory_order_acquire)));
  }
  void advance(duration d) noexcept { ticks_.fetch_add(d.count(), std::memory_order_acq_rel); }
  void set(time_point t) noexcept {
    ticks_.store(t.time_since_epoch().count(), std::memory_order_release);
  }

 private:
  std::atomic<std::int64_t> ticks_{
      std::chrono::duration_cast<duration>(std::chrono::hours(1000)).count()};
};

// Time points kept in atomics as nanoseconds since the steady epoch; 0 means "none".
inline std::int64_t to_ns(Clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline Clock::time_point from_ns(std::int64_t ns) noexcept {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace gatewayd::upstream
