#pragma once
// A finished unit of work as exported to an OpenTelemetry collector: the server span of a
// request and one client span per upstream attempt.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "observability/trace_context.hpp"

namespace gatewayd::tracing {

enum class SpanKind : std::uint8_t { kInternal = 1, kServer = 2, kClient = 3 };  // OTLP values
enum class StatusCode : std::uint8_t { kUnset = 0, kOk = 1, kError = 2 };

using AttributeValue = std::variant<std::string, std::int64_t, bool, double>;

struct Attribute {
  std::string key;
  AttributeValue value;
};

std::uint64_t unix_nanos_now() noexcept;

struct Span {
  std::string name;
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // zero for a root span
  SpanKind kind = SpanKind::kServer;
  std::uint64_t start_unix_nano = 0;
  std::uint64_t end_unix_nano = 0;
  std::vector<Attribute> attributes;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;

  // A span for `ctx` (its ids and parent), started now.
  static Span start(std::string name, SpanKind kind, const TraceContext& ctx);
  void end() noexcept { end_unix_nano = unix_nanos_now(); }

  void set(std::string_view key, std::string_view value);
  void set(std::string_view key, const char* value) { set(key, std::string_view(value)); }
  void set(std::string_view key, bool value);
  void set(std::string_view key, double value);
  template <std::integral T>
  requires(!std::same_as<T, bool>) void set(std::string_view key, T value) {
    set_int(key, static_cast<std::int64_t>(value));
  }

 private:
  void set_int(std::string_view key, std::int64_t value);
};

}  // namespace gatewayd::tracing
