#pragma once
// Circuit breaker shared by all worker threads.
//
//   closed --(failure_threshold consecutive failures, or failure ratio over the window with at
//             least window_min_requests)--> open
//   open   --(open_timeout * (1 + jitter) passed, checked lazily by allow())--> half_open
//   half_open --(success_threshold probe successes)--> closed
//   half_open --(any probe failure)--> open
//
// Hot path: allow() in the closed state is one atomic load; while open and not yet due it is two.
// Outcomes in the closed state are lock-free for successes; failures and every half-open step
// take a small per-breaker mutex.
//
// Every allowed permit must end in exactly one of on_success / on_failure / on_cancel. Each
// permit carries the generation (transition count) it was issued in; outcomes of permits from
// an earlier generation are ignored, so a slow request that started before the breaker opened
// cannot close or reopen it later.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "gatewayd/config.hpp"
#include "upstream/attempt_outcome.hpp"
#include "upstream/circuit_observer.hpp"
#include "upstream/clock.hpp"
#include "upstream/sliding_window.hpp"

namespace gatewayd::upstream {

struct CircuitPermit {
  bool allowed = false;
  bool probe = false;  // admitted as a half-open probe
  std::uint64_t generation = 0;
  std::chrono::milliseconds retry_after{0};  // when not allowed: until the next probe may go

  explicit operator bool() const noexcept { return allowed; }

  // The Retry-After header value: whole seconds, rounded up, at least 1.
  std::uint64_t retry_after_seconds() const noexcept {
    const auto ms = retry_after.count() > 0 ? retry_after.count() : 1;
    return static_cast<std::uint64_t>((ms + 999) / 1000);
  }
};

class CircuitBreaker {
 public:
  struct Snapshot {
    CircuitState state = CircuitState::kClosed;
    std::uint32_t consecutive_failures = 0;
    std::uint64_t window_requests = 0;
    std::uint64_t window_failures = 0;
    std::uint32_t probes_in_flight = 0;
    std::uint32_t probe_successes = 0;
    std::chrono::milliseconds retry_after{0};  // while open
    std::uint64_t generation = 0;
  };

  // `endpoint` is empty for a service-level breaker.
  CircuitBreaker(std::string service, std::string endpoint, const CircuitBreakerPolicy& policy,
                 const Clock& clock, std::shared_ptr<CircuitObserver> observer = nullptr);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  CircuitPermit allow() noexcept;
  // Side-effect free: would allow() admit a request at `now`? Used by load balancers to skip
  // endpoints without taking half-open probe slots.
  bool would_allow(Clock::time_point now) const noexcept;

  void on_success(const CircuitPermit& permit) noexcept;
  void on_failure(const CircuitPermit& permit, FailureKind kind) noexcept;
  // The attempt ended without telling anything about the upstream (client went away, no
  // endpoint was tried): frees a half-open probe slot.
  void on_cancel(const CircuitPermit& permit) noexcept;
  // Classifies with the breaker's policy (lock-free), then on_success or on_failure.
  void record(const CircuitPermit& permit, const AttemptOutcome& outcome) noexcept;
  std::optional<FailureKind> classify(const AttemptOutcome& outcome) const noexcept;

  // Back to closed with all counts cleared (admin reset).
  void reset() noexcept;
  // Applies a reloaded policy without losing the state.
  void update_policy(const CircuitBreakerPolicy& policy);

  CircuitState state() const noexcept;
  Snapshot snapshot() const;
  CircuitBreakerPolicy policy() const;
  const std::string& service() const noexcept { return service_; }
  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  static constexpr std::uint64_t pack(std::uint64_t generation, CircuitState s) noexcept {
    return (generation << 2) | static_cast<std::uint64_t>(s);
  }
  static constexpr CircuitState state_of(std::uint64_t word) noexcept {
    return static_cast<CircuitState>(word & 3U);
  }
  static constexpr std::uint64_t generation_of(std::uint64_t word) noexcept { return word >> 2; }

  CircuitPermit allow_slow(Clock::time_point now) noexcept;
  void transition_locked(CircuitState to, std::string_view reason, Clock::time_point now) noexcept;
  std::chrono::milliseconds retry_after(std::int64_t until_ns,
                                        Clock::time_point now) const noexcept;

  const std::string service_;
  const std::string endpoint_;
  const Clock& clock_;
  const std::shared_ptr<CircuitObserver> observer_;

  std::atomic<std::uint64_t> word_{pack(0, CircuitState::kClosed)};
  std::atomic<std::int64_t> open_until_ns_{0};
  std::atomic<std::uint32_t> consecutive_failures_{0};
  std::atomic<std::uint32_t> probes_in_flight_{0};  // written under mutex_
  std::atomic<std::uint32_t> half_open_max_{1};
  std::atomic<bool> enabled_{true};
  std::atomic<bool> ratio_enabled_{false};
  SlidingWindow window_;
  // The failure classification of policy_, readable without the lock: one bit per status
  // code below kStatusBits and one per AttemptError.
  static constexpr unsigned kStatusBits = 640;
  std::array<std::atomic<std::uint64_t>, kStatusBits / 64> failure_statuses_{};
  std::atomic<std::uint8_t> failure_errors_{0};

  mutable std::mutex mutex_;
  CircuitBreakerPolicy policy_;              // guarded by mutex_
  std::uint32_t probe_successes_ = 0;        // guarded by mutex_
  std::int64_t last_failure_ns_ = 0;         // guarded by mutex_
  std::int64_t last_probe_progress_ns_ = 0;  // guarded by mutex_
};

}  // namespace gatewayd::upstream
