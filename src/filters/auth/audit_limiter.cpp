#include "filters/auth/audit_limiter.hpp"

#include "gatewayd/error.hpp"

namespace gatewayd::auth {

AuditLimiter::AuditLimiter(RecordSink* sink, std::uint32_t per_second)
    : sink_(sink), per_second_(per_second) {}

void AuditLimiter::submit(AuditRecord record) noexcept {
  if (sink_ == nullptr) return;
  if (record.created_at == SystemTime{}) record.created_at = std::chrono::system_clock::now();
  submitted_total_.fetch_add(1, std::memory_order_relaxed);
  sink_->submit(std::move(record));
}

bool AuditLimiter::submit_limited(AuditRecord record) noexcept {
  return submit_limited(std::move(record), Clock::now());
}

bool AuditLimiter::submit_limited(AuditRecord record, Clock::time_point now) noexcept {
  const auto admitted = admit(now);
  if (!admitted) {
    suppressed_total_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (*admitted > 0) {
    try {
      std::string& d = record.details_json;
      if (d.size() < 2 || d.back() != '}') d = "{}";
      d.pop_back();
      if (d.size() > 1) d += ',';
      d += "\"suppressed_before\":" + std::to_string(*admitted) + "}";
    } catch (...) {
      // Out of memory while decorating: the record still goes out as it was.
    }
  }
  submit(std::move(record));
  return true;
}

std::optional<std::uint64_t> AuditLimiter::admit(Clock::time_point now) noexcept {
  std::lock_guard lock(mu_);
  if (now - window_start_ >= std::chrono::seconds(1) || now < window_start_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= per_second_) {
    ++pending_suppressed_;
    return std::nullopt;
  }
  ++in_window_;
  const std::uint64_t before = pending_suppressed_;
  pending_suppressed_ = 0;
  return before;
}

void append_json_member(std::string& out, std::string_view key, std::string_view value) {
  if (out.empty()) out = "{";
  if (out.size() > 1) out += ',';
  out += '"';
  append_json_escaped(out, key);
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}

}  // namespace gatewayd::auth
