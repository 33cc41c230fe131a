#pragma once
// What one attempt at an upstream endpoint ended with, as the proxy saw it, and how the
// resilience policies classify it.
#include <cstdint>
#include <optional>
#include <string_view>

#include "gatewayd/config.hpp"

namespace gatewayd::upstream {

enum class AttemptError : std::uint8_t {
  kNone,      // a response head arrived; see status
  kConnect,   // refused, unreachable, reset before the response, TLS handshake failure
  kTimeout,   // connect or per-try timeout
  kProtocol,  // malformed or truncated response
};

struct AttemptOutcome {
  AttemptError error = AttemptError::kNone;
  unsigned status = 0;  // the upstream's status when error == kNone

  static constexpr AttemptOutcome response(unsigned status) noexcept {
    return {AttemptError::kNone, status};
  }
  static constexpr AttemptOutcome connect_error() noexcept { return {AttemptError::kConnect, 0}; }
  static constexpr AttemptOutcome timeout() noexcept { return {AttemptError::kTimeout, 0}; }
  static constexpr AttemptOutcome protocol_error() noexcept { return {AttemptError::kProtocol, 0}; }
};

// Why an outcome counts against a circuit breaker.
enum class FailureKind : std::uint8_t { kConnect, kTimeout, kProtocol, kStatus };

std::string_view failure_kind_name(FailureKind kind) noexcept;  // "connect", "timeout", ...

// nullopt when the outcome is a success for the breaker (4xx answers are successes: the
// upstream is working, the client asked for something wrong).
std::optional<FailureKind> classify_failure(const CircuitBreakerPolicy& policy,
                                            const AttemptOutcome& outcome) noexcept;

}  // namespace gatewayd::upstream
