#pragma once
// Decides whether a failed attempt is retried and how long to wait first. Pure functions of
// the route's RetryPolicy and what the proxy knows about the request; the service's retry
// budget is applied last (see ServiceEndpoints::should_retry), so it is only spent on
// retries that would otherwise happen.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "gatewayd/config.hpp"
#include "upstream/attempt_outcome.hpp"
#include "upstream/clock.hpp"
#include "upstream/fast_rng.hpp"

namespace gatewayd::upstream {

enum class RetryReason : std::uint8_t {
  kConnectFailure,  // includes a reset before any response byte
  kPerTryTimeout,
  kStatus,
};
inline constexpr std::size_t kRetryReasonCount = 3;
std::string_view retry_reason_name(RetryReason reason) noexcept;  // "connect_failure", ...

enum class RetryDenial : std::uint8_t {
  kNone,               // retry granted
  kNotRetryable,       // success, or a failure the policy does not retry
  kNonIdempotent,      // method not idempotent and the route did not opt in
  kBodyNotReplayable,  // the request body was streamed and not kept
  kResponseStarted,    // bytes already went downstream
  kAttemptsExhausted,
  kDeadline,  // the backoff would end past the request deadline
  kBudgetExhausted,
};
std::string_view retry_denial_name(RetryDenial denial) noexcept;

struct RetryContext {
  std::string_view method;        // upper-case request method
  bool body_replayable = true;    // no body, or the whole body is kept for replay
  bool response_started = false;  // any response byte was sent downstream
  unsigned attempts = 1;          // attempts made so far, the failed one included
  Clock::time_point now{};
  Clock::time_point deadline = Clock::time_point::max();
};

struct RetryVerdict {
  bool retry = false;
  RetryReason reason = RetryReason::kConnectFailure;  // meaningful when a reason applied
  RetryDenial denial = RetryDenial::kNotRetryable;
  std::chrono::milliseconds backoff{0};  // wait this long before the next attempt

  explicit operator bool() const noexcept { return retry; }
};

// GET HEAD OPTIONS PUT DELETE TRACE (RFC 9110 9.2.2).
bool is_idempotent(std::string_view method) noexcept;

// Whether the policy retries this outcome at all, and why.
std::optional<RetryReason> retry_reason(const RetryPolicy& policy,
                                        const AttemptOutcome& outcome) noexcept;

// Upper bound of the n-th retry's wait (n = 0 for the first retry):
// min(backoff_max, backoff_base * backoff_multiplier^n).
std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, unsigned retry_index) noexcept;
// Full jitter: uniform in [0, backoff_ceiling].
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, unsigned retry_index,
                                        FastRng& rng) noexcept;

// Everything except the budget.
RetryVerdict evaluate_retry(const RetryPolicy& policy, const AttemptOutcome& outcome,
                            const RetryContext& ctx, FastRng& rng) noexcept;

// Whether a request body of `length` bytes may be kept for replay under this policy
// (retrying it must also be allowed by method or opt-in).
inline bool body_fits_for_retry(const RetryPolicy& policy, std::uint64_t length) noexcept {
  return length <= policy.retry_body_limit;
}

}  // namespace gatewayd::upstream
