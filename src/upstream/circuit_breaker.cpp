#include "upstream/circuit_breaker.hpp"

#include <algorithm>
#include <cmath>

#include "upstream/fast_rng.hpp"

namespace gatewayd::upstream {

namespace {
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// While half-open with every probe slot taken, callers are told to come back after this.
constexpr milliseconds kHalfOpenBusyRetryAfter{1000};
}  // namespace

std::string_view circuit_state_name(CircuitState state) noexcept {
  switch (state) {
    case CircuitState::kClosed:
      return "closed";
    case CircuitState::kHalfOpen:
      return "half_open";
    case CircuitState::kOpen:
      return "open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(std::string service, std::string endpoint,
                               const CircuitBreakerPolicy& policy, const Clock& clock,
                               std::shared_ptr<CircuitObserver> observer)
    : service_(std::move(service)),
      endpoint_(std::move(endpoint)),
      clock_(clock),
      observer_(std::move(observer)),
      window_(policy.window) {
  update_policy(policy);
  if (observer_) observer_->on_created(service_, endpoint_);
}

void CircuitBreaker::update_policy(const CircuitBreakerPolicy& policy) {
  std::lock_guard lock(mutex_);
  const bool window_changed = policy.window != policy_.window;
  policy_ = policy;
  half_open_max_.store(std::max<std::uint32_t>(1, policy.half_open_max_requests),
                       std::memory_order_relaxed);
  ratio_enabled_.store(policy.failure_ratio > 0.0, std::memory_order_relaxed);
  enabled_.store(policy.enabled, std::memory_order_release);
  if (window_changed) window_.set_window(policy.window);
  for (unsigned word = 0; word < failure_statuses_.size(); ++word) {
    std::uint64_t bits = 0;
    for (unsigned bit = 0; bit < 64; ++bit) {
      const unsigned status = word * 64 + bit;
      if (classify_failure(policy, AttemptOutcome::response(status))) bits |= 1ULL << bit;
    }
    failure_statuses_[word].store(bits, std::memory_order_relaxed);
  }
  std::uint8_t errors = 0;
  for (auto e : {AttemptError::kConnect, AttemptError::kTimeout, AttemptError::kProtocol}) {
    if (classify_failure(policy, AttemptOutcome{e, 0})) errors |= 1U << static_cast<unsigned>(e);
  }
  failure_errors_.store(errors, std::memory_order_relaxed);
  if (!policy.enabled && state_of(word_.load(std::memory_order_acquire)) != CircuitState::kClosed) {
    transition_locked(CircuitState::kClosed, "disabled", clock_.now());
  }
}

CircuitBreakerPolicy CircuitBreaker::policy() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

CircuitState CircuitBreaker::state() const noexcept {
  return state_of(word_.load(std::memory_order_acquire));
}

milliseconds CircuitBreaker::retry_after(std::int64_t until_ns,
                                         Clock::time_point now) const noexcept {
  const std::int64_t left = until_ns - to_ns(now);
  // Round up: telling a client to come back before the breaker is due would waste its retry.
  const std::int64_t ms = (left + 999'999) / 1'000'000;
  return milliseconds(std::max<std::int64_t>(1, ms));
}

CircuitPermit CircuitBreaker::allow() noexcept {
  const std::uint64_t word = word_.load(std::memory_order_acquire);
  if (!enabled_.load(std::memory_order_relaxed) || state_of(word) == CircuitState::kClosed) {
    return {true, false, generation_of(word), milliseconds(0)};
  }
  const Clock::time_point now = clock_.now();
  if (state_of(word) == CircuitState::kOpen) {
    const std::int64_t until = open_until_ns_.load(std::memory_order_acquire);
    if (to_ns(now) < until) return {false, false, generation_of(word), retry_after(until, now)};
  }
  return allow_slow(now);
}

CircuitPermit CircuitBreaker::allow_slow(Clock::time_point now) noexcept {
  std::lock_guard lock(mutex_);
  std::uint64_t word = word_.load(std::memory_order_acquire);
  if (state_of(word) == CircuitState::kOpen) {
    const std::int64_t until = open_until_ns_.load(std::memory_order_relaxed);
    if (to_ns(now) < until) return {false, false, generation_of(word), retry_after(until, now)};
    transition_locked(CircuitState::kHalfOpen, "open_timeout", now);
    word = word_.load(std::memory_order_relaxed);
  }
  if (state_of(word) == CircuitState::kClosed) return {true, false, generation_of(word), {}};

  // Half-open. A probe whose outcome never comes back (a caller that forgot on_cancel) would
  // otherwise keep its slot forever; after a full open_timeout without progress the slots
  // are considered lost and handed out again.
  std::uint32_t in_flight = probes_in_flight_.load(std::memory_order_relaxed);
  const std::uint32_t max = half_open_max_.load(std::memory_order_relaxed);
  if (in_flight >= max) {
    const auto stale_after = std::chrono::duration_cast<nanoseconds>(policy_.open_timeout).count();
    if (to_ns(now) - last_probe_progress_ns_ >= stale_after) {
      in_flight = 0;
    } else {
      return {false, false, generation_of(word), kHalfOpenBusyRetryAfter};
    }
  }
  probes_in_flight_.store(in_flight + 1, std::memory_order_relaxed);
  last_probe_progress_ns_ = to_ns(now);
  return {true, true, generation_of(word), {}};
}

bool CircuitBreaker::would_allow(Clock::time_point now) const noexcept {
  if (!enabled_.load(std::memory_order_relaxed)) return true;
  switch (state_of(word_.load(std::memory_order_acquire))) {
    case CircuitState::kClosed:
      return true;
    case CircuitState::kOpen:
      return to_ns(now) >= open_until_ns_.load(std::memory_order_acquire);
    case CircuitState::kHalfOpen:
      return probes_in_flight_.load(std::memory_order_relaxed) <
             half_open_max_.load(std::memory_order_relaxed);
  }
  return false;
}

void CircuitBreaker::on_success(const CircuitPermit& permit) noexcept {
  if (!permit.allowed || !enabled_.load(std::memory_order_relaxed)) return;
  const std::uint64_t word = word_.load(std::memory_order_acquire);
  if (generation_of(word) != permit.generation) return;
  if (state_of(word) == CircuitState::kClosed) {
    // Store only when needed: the counter's cache line is shared by every worker.
    if (consecutive_failures_.load(std::memory_order_relaxed) != 0) {
      consecutive_failures_.store(0, std::memory_order_relaxed);
    }
    if (ratio_enabled_.load(std::memory_order_relaxed)) window_.add(clock_.now(), 1, 0);
    return;
  }
  if (!permit.probe) return;
  std::lock_guard lock(mutex_);
  const std::uint64_t current = word_.load(std::memory_order_relaxed);
  if (current != word) return;  // moved on while we waited for the lock
  const Clock::time_point now = clock_.now();
  const std::uint32_t in_flight = probes_in_flight_.load(std::memory_order_relaxed);
  if (in_flight > 0) probes_in_flight_.store(in_flight - 1, std::memory_order_relaxed);
  last_probe_progress_ns_ = to_ns(now);
  ++probe_successes_;
  if (probe_successes_ >= std::max<std::uint32_t>(1, policy_.success_threshold)) {
    transition_locked(CircuitState::kClosed, "probe_success", now);
  }
}

void CircuitBreaker::on_failure(const CircuitPermit& permit, FailureKind /*kind*/) noexcept {
  if (!permit.allowed || !enabled_.load(std::memory_order_relaxed)) return;
  if (generation_of(word_.load(std::memory_order_acquire)) != permit.generation) return;
  std::lock_guard lock(mutex_);
  const std::uint64_t word = word_.load(std::memory_order_relaxed);
  if (generation_of(word) != permit.generation) return;
  const Clock::time_point now = clock_.now();
  last_failure_ns_ = to_ns(now);
  if (state_of(word) == CircuitState::kClosed) {
    const std::uint32_t consecutive =
        consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (policy_.failure_threshold > 0 && consecutive >= policy_.failure_threshold) {
      transition_locked(CircuitState::kOpen, "consecutive_failures", now);
      return;
    }
    if (policy_.failure_ratio > 0.0) {
      window_.add(now, 1, 1);
      const auto counts = window_.sum(now);
      if (counts.total >= std::max<std::uint32_t>(1, policy_.window_min_requests) &&
          static_cast<double>(counts.marked) >=
              policy_.failure_ratio * static_cast<double>(counts.total)) {
        transition_locked(CircuitState::kOpen, "failure_ratio", now);
      }
    }
    return;
  }
  if (state_of(word) == CircuitState::kHalfOpen && permit.probe) {
    transition_locked(CircuitState::kOpen, "probe_failure", now);
  }
}

void CircuitBreaker::on_cancel(const CircuitPermit& permit) noexcept {
  if (!permit.allowed || !permit.probe) return;
  std::lock_guard lock(mutex_);
  const std::uint64_t word = word_.load(std::memory_order_relaxed);
  if (generation_of(word) != permit.generation || state_of(word) != CircuitState::kHalfOpen) {
    return;
  }
  const std::uint32_t in_flight = probes_in_flight_.load(std::memory_order_relaxed);
  if (in_flight > 0) probes_in_flight_.store(in_flight - 1, std::memory_order_relaxed);
}

std::optional<FailureKind> CircuitBreaker::classify(const AttemptOutcome& outcome) const noexcept {
  const auto error_bit = 1U << static_cast<unsigned>(outcome.error);
  switch (outcome.error) {
    case AttemptError::kConnect:
    case AttemptError::kTimeout:
    case AttemptError::kProtocol: {
      if ((failure_errors_.load(std::memory_order_relaxed) & error_bit) == 0) return std::nullopt;
      if (outcome.error == AttemptError::kConnect) return FailureKind::kConnect;
      if (outcome.error == AttemptError::kTimeout) return FailureKind::kTimeout;
      return FailureKind::kProtocol;
    }
    case AttemptError::kNone:
      break;
  }
  if (outcome.status >= kStatusBits) return std::nullopt;
  const std::uint64_t bits = failure_statuses_[outcome.status / 64].load(std::memory_order_relaxed);
  if ((bits >> (outcome.status % 64)) & 1U) return FailureKind::kStatus;
  return std::nullopt;
}

void CircuitBreaker::record(const CircuitPermit& permit, const AttemptOutcome& outcome) noexcept {
  const std::optional<FailureKind> failure = classify(outcome);
  if (failure) {
    on_failure(permit, *failure);
  } else {
    on_success(permit);
  }
}

void CircuitBreaker::reset() noexcept {
  std::lock_guard lock(mutex_);
  if (state_of(word_.load(std::memory_order_relaxed)) != CircuitState::kClosed) {
    transition_locked(CircuitState::kClosed, "reset", clock_.now());
    return;
  }
  consecutive_failures_.store(0, std::memory_order_relaxed);
  window_.reset();
}

void CircuitBreaker::transition_locked(CircuitState to, std::string_view reason,
                                       Clock::time_point now) noexcept {
  const std::uint64_t word = word_.load(std::memory_order_relaxed);
  CircuitTransition t;
  t.service = service_;
  t.endpoint = endpoint_;
  t.from = state_of(word);
  t.to = to;
  t.reason = reason;
  const auto window_failures = window_.sum(now).marked;
  t.failure_count = static_cast<std::uint32_t>(std::max<std::uint64_t>(
      consecutive_failures_.load(std::memory_order_relaxed), window_failures));
  t.success_count = probe_successes_;
  t.at = now;
  t.last_failure = from_ns(last_failure_ns_);

  consecutive_failures_.store(0, std::memory_order_relaxed);
  window_.reset();
  probes_in_flight_.store(0, std::memory_order_relaxed);
  probe_successes_ = 0;
  last_probe_progress_ns_ = to_ns(now);

  if (to == CircuitState::kOpen) {
    double factor = 1.0;
    if (policy_.open_timeout_jitter > 0.0) {
      factor += policy_.open_timeout_jitter * thread_rng().uniform();
    }
    const auto base = std::chrono::duration_cast<nanoseconds>(policy_.open_timeout).count();
    const auto open_ns =
        static_cast<std::int64_t>(std::llround(static_cast<double>(base) * factor));
    open_until_ns_.store(to_ns(now) + open_ns, std::memory_order_release);
    t.open_for = std::chrono::duration_cast<milliseconds>(nanoseconds(open_ns));
  } else {
    open_until_ns_.store(0, std::memory_order_release);
  }
  // Publish the new state last, so a reader that sees "open" also sees its deadline.
  word_.store(pack(generation_of(word) + 1, to), std::memory_order_release);
  if (observer_) observer_->on_transition(t);
}

CircuitBreaker::Snapshot CircuitBreaker::snapshot() const {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = clock_.now();
  const std::uint64_t word = word_.load(std::memory_order_relaxed);
  Snapshot s;
  s.state = state_of(word);
  s.generation = generation_of(word);
  s.consecutive_failures = consecutive_failures_.load(std::memory_order_relaxed);
  const auto counts = window_.sum(now);
  s.window_requests = counts.total;
  s.window_failures = counts.marked;
  s.probes_in_flight = probes_in_flight_.load(std::memory_order_relaxed);
  s.probe_successes = probe_successes_;
  if (s.state == CircuitState::kOpen) {
    s.retry_after = retry_after(open_until_ns_.load(std::memory_order_relaxed), now);
  }
  return s;
}

}  // namespace gatewayd::upstream
