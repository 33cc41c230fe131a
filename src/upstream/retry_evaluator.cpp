#include "upstream/retry_evaluator.hpp"

#include <algorithm>
#include <cmath>

namespace gatewayd::upstream {

std::string_view retry_reason_name(RetryReason reason) noexcept {
  switch (reason) {
    case RetryReason::kConnectFailure:
      return "connect_failure";
    case RetryReason::kPerTryTimeout:
      return "per_try_timeout";
    case RetryReason::kStatus:
      return "status";
  }
  return "unknown";
}

std::string_view retry_denial_name(RetryDenial denial) noexcept {
  switch (denial) {
    case RetryDenial::kNone:
      return "none";
    case RetryDenial::kNotRetryable:
      return "not_retryable";
    case RetryDenial::kNonIdempotent:
      return "non_idempotent";
    case RetryDenial::kBodyNotReplayable:
      return "body_not_replayable";
    case RetryDenial::kResponseStarted:
      return "response_started";
    case RetryDenial::kAttemptsExhausted:
      return "attempts_exhausted";
    case RetryDenial::kDeadline:
      return "deadline";
    case RetryDenial::kBudgetExhausted:
      return "budget_exhausted";
  }
  return "unknown";
}

bool is_idempotent(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

std::optional<RetryReason> retry_reason(const RetryPolicy& policy,
                                        const AttemptOutcome& outcome) noexcept {
  switch (outcome.error) {
    case AttemptError::kConnect:
    case AttemptError::kProtocol:
      if (policy.retry_on_connect_failure) return RetryReason::kConnectFailure;
      return std::nullopt;
    case AttemptError::kTimeout:
      if (policy.retry_on_timeout) return RetryReason::kPerTryTimeout;
      return std::nullopt;
    case AttemptError::kNone:
      break;
  }
  const auto& list = policy.retry_on_status;
  if (std::find(list.begin(), list.end(), outcome.status) != list.end()) {
    return RetryReason::kStatus;
  }
  return std::nullopt;
}

std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy,
                                          unsigned retry_index) noexcept {
  const double base = static_cast<double>(std::max<std::int64_t>(0, policy.backoff_base.count()));
  const double cap = static_cast<double>(std::max<std::int64_t>(0, policy.backoff_max.count()));
  const double multiplier = std::max(1.0, policy.backoff_multiplier);
  // pow overflows to +inf for large indices, which min() then caps.
  const double ceiling = std::min(cap, base * std::pow(multiplier, retry_index));
  return std::chrono::milliseconds(static_cast<std::int64_t>(ceiling));
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, unsigned retry_index,
                                        FastRng& rng) noexcept {
  const auto ceiling = backoff_ceiling(policy, retry_index).count();
  if (ceiling <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(ceiling) + 1)));
}

RetryVerdict evaluate_retry(const RetryPolicy& policy, const AttemptOutcome& outcome,
                            const RetryContext& ctx, FastRng& rng) noexcept {
  RetryVerdict v;
  const auto reason = retry_reason(policy, outcome);
  if (!reason) {
    v.denial = RetryDenial::kNotRetryable;
    return v;
  }
  v.reason = *reason;
  if (ctx.response_started) {
    v.denial = RetryDenial::kResponseStarted;
    return v;
  }
  if (ctx.attempts > policy.retry_count) {
    v.denial = RetryDenial::kAttemptsExhausted;
    return v;
  }
  if (!is_idempotent(ctx.method) && !policy.retry_non_idempotent) {
    v.denial = RetryDenial::kNonIdempotent;
    return v;
  }
  if (!ctx.body_replayable) {
    v.denial = RetryDenial::kBodyNotReplayable;
    return v;
  }
  const unsigned retry_index = ctx.attempts > 0 ? ctx.attempts - 1 : 0;
  v.backoff = backoff_delay(policy, retry_index, rng);
  if (ctx.deadline != Clock::time_point::max() && ctx.now + v.backoff >= ctx.deadline) {
    v.denial = RetryDenial::kDeadline;
    return v;
  }
  v.retry = true;
  v.denial = RetryDenial::kNone;
  return v;
}

}  // namespace gatewayd::upstream
