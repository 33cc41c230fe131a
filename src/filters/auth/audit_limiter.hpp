#pragma once
// Auth failures are audit events, but a client can produce them at line rate with bad tokens.
// AuditLimiter lets at most `per_second` events through per one-second window (shared by every
// worker) and counts the rest; the first event of a later window carries how many were held back
// before it, and the total is a metric. So the audit trail keeps a sample plus exact counts,
// and a flood costs one atomic add per dropped event.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "gatewayd/records.hpp"

namespace gatewayd::auth {

class AuditLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `sink` may be null (nothing is recorded). `per_second` 0 suppresses every limited event.
  AuditLimiter(RecordSink* sink, std::uint32_t per_second);

  // Always recorded: successful issues, refreshes and revocations are rare and bounded by the
  // work they cause.
  void submit(AuditRecord record) noexcept;
  // Recorded when the window has room; otherwise only counted. When events were suppressed
  // before this one, `details_json` (a JSON object) gains "suppressed_before": N.
  // Returns whether the record went to the sink.
  bool submit_limited(AuditRecord record) noexcept;
  bool submit_limited(AuditRecord record, Clock::time_point now) noexcept;

  std::uint64_t suppressed_total() const noexcept {
    return suppressed_total_.load(std::memory_order_relaxed);
  }
  std::uint64_t submitted_total() const noexcept {
    return submitted_total_.load(std::memory_order_relaxed);
  }

 private:
  // Admission for one limited event; the count of events suppressed since the last admitted
  // one when admitted, nullopt when this event is suppressed.
  std::optional<std::uint64_t> admit(Clock::time_point now) noexcept;

  RecordSink* sink_;
  const std::uint32_t per_second_;
  std::mutex mu_;
  Clock::time_point window_start_{};
  std::uint32_t in_window_ = 0;
  std::uint64_t pending_suppressed_ = 0;
  std::atomic<std::uint64_t> suppressed_total_{0};
  std::atomic<std::uint64_t> submitted_total_{0};
};

// {"reason":"..."} style helper: appends `"key":"value"` (escaped) to a JSON object text being
// built in `out` (which starts with '{'); adds the comma when needed.
void append_json_member(std::string& out, std::string_view key, std::string_view value);

}  // namespace gatewayd::auth
