#pragma once
// Hook called on every circuit breaker state change. The breaker calls it while holding its
// own lock, so transitions of one breaker arrive in order; an observer must be quick, must not
// block and must not call back into the breaker that reports.
#include <cstdint>
#include <string_view>

#include "upstream/clock.hpp"

namespace gatewayd::upstream {

// Numeric values are the gatewayd_circuit_state gauge values.
enum class CircuitState : std::uint8_t { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

std::string_view circuit_state_name(CircuitState state) noexcept;  // "closed", "half_open", "open"

struct CircuitTransition {
  std::string_view service;
  std::string_view endpoint;  // empty for the service-level breaker
  CircuitState from = CircuitState::kClosed;
  CircuitState to = CircuitState::kClosed;
  // "consecutive_failures", "failure_ratio", "open_timeout", "probe_failure", "probe_success",
  // "reset", "disabled".
  std::string_view reason;
  std::uint32_t failure_count = 0;  // failures that led here (consecutive or in the window)
  std::uint32_t success_count = 0;  // half-open probe successes
  Clock::time_point at{};
  Clock::time_point last_failure{};       // epoch when none was seen
  std::chrono::milliseconds open_for{0};  // how long it stays open (when to == kOpen)
};

class CircuitObserver {
 public:
  virtual ~CircuitObserver() = default;
  // A breaker was created (starts closed); lets metrics show it before any transition.
  virtual void on_created(std::string_view /*service*/, std::string_view /*endpoint*/) noexcept {}
  virtual void on_transition(const CircuitTransition& transition) noexcept = 0;
};

}  // namespace gatewayd::upstream
