#include "observability/span.hpp"

#include <chrono>

namespace gatewayd::tracing {

std::uint64_t unix_nanos_now() noexcept {
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since).count());
}

Span Span::start(std::string name, SpanKind kind, const TraceContext& ctx) {
  Span s;
  s.name = std::move(name);
  s.kind = kind;
  s.trace_id = ctx.trace_id;
  s.span_id = ctx.span_id;
  s.parent_span_id = ctx.parent_span_id;
  s.start_unix_nano = unix_nanos_now();
  return s;
}

void Span::set(std::string_view key, std::string_view value) {
  attributes.push_back({std::string(key), AttributeValue(std::in_place_type<std::string>, value)});
}
void Span::set(std::string_view key, bool value) {
  attributes.push_back({std::string(key), AttributeValue(std::in_place_type<bool>, value)});
}
void Span::set(std::string_view key, double value) {
  attributes.push_back({std::string(key), AttributeValue(std::in_place_type<double>, value)});
}
void Span::set_int(std::string_view key, std::int64_t value) {
  attributes.push_back({std::string(key), AttributeValue(std::in_place_type<std::int64_t>, value)});
}

}  // namespace gatewayd::tracing
