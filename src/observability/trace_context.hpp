#pragma once
// W3C Trace Context (traceparent / tracestate) for the gateway: an incoming valid traceparent is
// continued, anything else starts a new trace; the gateway's own span becomes the parent of the
// upstream call. The sampling decision is parent-based, with TRACING_SAMPLE_RATIO for roots.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatewayd::tracing {

struct TraceId {
  std::array<std::uint8_t, 16> bytes{};

  bool valid() const noexcept;  // not all zero
  std::string hex() const;      // 32 lowercase hex characters
  void write_hex(char* out) const noexcept;
  static std::optional<TraceId> from_hex(std::string_view hex) noexcept;  // 32 lowercase hex
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

struct SpanId {
  std::array<std::uint8_t, 8> bytes{};

  bool valid() const noexcept;
  std::string hex() const;  // 16 lowercase hex characters
  void write_hex(char* out) const noexcept;
  static std::optional<SpanId> from_hex(std::string_view hex) noexcept;
  friend bool operator==(const SpanId&, const SpanId&) = default;
};

// Random, never all zero.
TraceId random_trace_id() noexcept;
SpanId random_span_id() noexcept;

inline constexpr std::uint8_t kSampledFlag = 0x01;
inline constexpr std::size_t kTraceparentLength = 55;  // version 00
inline constexpr std::size_t kMaxTracestateMembers = 32;
inline constexpr std::size_t kMaxTracestateLength = 512;  // what the gateway propagates
inline constexpr std::size_t kMaxTracestateInput = 8192;  // longer headers are not parsed

// A parsed incoming traceparent.
struct Traceparent {
  std::uint8_t version = 0;
  TraceId trace_id;
  SpanId parent_id;
  std::uint8_t flags = 0;
  bool sampled() const noexcept { return (flags & kSampledFlag) != 0; }
};

// Strict for version 00 (exactly 55 characters, lowercase hex, non-zero ids); a higher version
// is read by its first four fields when the header continues with '-'; version ff is invalid.
// Surrounding spaces and tabs are ignored.
std::optional<Traceparent> parse_traceparent(std::string_view header) noexcept;

// Validates a (combined) tracestate header and returns it normalised: members joined by ','
// without optional whitespace, empty members dropped. Returns an empty string when the header
// is invalid (bad key or value, duplicate key, more than 32 members). Longer than 512
// characters: entries over 128 characters go first, then entries from the right.
std::string normalize_tracestate(std::string_view header);

// "00-<trace-id>-<span-id>-<flags>" into `out` (55 characters).
void write_traceparent(char* out, const TraceId& trace_id, const SpanId& span_id,
                       bool sampled) noexcept;

// Root sampling by trace-id ratio: deterministic for a trace id, so replicas agree.
class Sampler {
 public:
  explicit Sampler(double root_ratio = 1.0) noexcept;
  double ratio() const noexcept { return ratio_; }
  bool sample_root(const TraceId& trace_id) const noexcept;

 private:
  double ratio_;
  std::uint64_t threshold_;  // compared with the low 56 bits of the trace id
};

// The gateway's view of one request's trace.
struct TraceContext {
  TraceId trace_id;
  SpanId span_id;         // the gateway's span
  SpanId parent_span_id;  // the caller's span; zero when the trace started here
  bool sampled = false;
  bool remote_parent = false;  // continued a valid incoming traceparent
  std::string tracestate;      // normalised, passed through unchanged

  bool valid() const noexcept { return trace_id.valid() && span_id.valid(); }

  // Same trace, a new span id, this span as parent (one per upstream attempt).
  TraceContext child() const;

  // The traceparent to send upstream: this span is the callee's parent.
  std::string traceparent() const;
  void write_traceparent(char* out) const noexcept;  // kTraceparentLength characters
};

// Continues a valid incoming traceparent (its trace id and sampled flag, its tracestate) or
// starts a new trace sampled by `sampler`. An invalid traceparent drops the tracestate too.
TraceContext start_trace(std::string_view traceparent, std::string_view tracestate,
                         const Sampler& sampler);

}  // namespace gatewayd::tracing
