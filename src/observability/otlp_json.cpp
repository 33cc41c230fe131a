#include "observability/otlp_json.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

#include "observability/json_text.hpp"

#ifndef GATEWAYD_VERSION
#define GATEWAYD_VERSION "unknown"
#endif

namespace gatewayd::tracing {

namespace {

using Out = std::back_insert_iterator<std::string>;

void append_string(std::string& out, std::string_view s) {
  out += '"';
  logging::append_json_text(out, s);
  out += '"';
}

void append_value(std::string& out, const AttributeValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    out += R"({"stringValue":)";
    append_string(out, *s);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    fmt::format_to(Out(out), R"({{"intValue":"{}")", *i);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out += *b ? R"({"boolValue":true)" : R"({"boolValue":false)";
  } else {
    const double d = std::get<double>(value);
    if (std::isnan(d)) {
      out += R"({"doubleValue":"NaN")";
    } else if (std::isinf(d)) {
      out += d > 0 ? R"({"doubleValue":"Infinity")" : R"({"doubleValue":"-Infinity")";
    } else {
      fmt::format_to(Out(out), R"({{"doubleValue":{})", d);
    }
  }
  out += '}';
}

void append_attribute(std::string& out, std::string_view key, const AttributeValue& value) {
  out += R"({"key":)";
  append_string(out, key);
  out += R"(,"value":)";
  append_value(out, value);
  out += '}';
}

void append_attributes(std::string& out, const std::vector<Attribute>& attributes, bool& first) {
  for (const auto& a : attributes) {
    if (!first) out += ',';
    first = false;
    append_attribute(out, a.key, a.value);
  }
}

void append_span(std::string& out, const Span& s) {
  char id[32];
  out += R"({"traceId":")";
  s.trace_id.write_hex(id);
  out.append(id, 32);
  out += R"(","spanId":")";
  s.span_id.write_hex(id);
  out.append(id, 16);
  out += '"';
  if (s.parent_span_id.valid()) {
    out += R"(,"parentSpanId":")";
    s.parent_span_id.write_hex(id);
    out.append(id, 16);
    out += '"';
  }
  out += R"(,"name":)";
  append_string(out, s.name);
  fmt::format_to(Out(out), R"(,"kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}")",
                 static_cast<int>(s.kind), s.start_unix_nano, s.end_unix_nano);
  out += R"(,"attributes":[)";
  bool first = true;
  append_attributes(out, s.attributes, first);
  fmt::format_to(Out(out), R"(],"status":{{"code":{})", static_cast<int>(s.status));
  if (!s.status_message.empty()) {
    out += R"(,"message":)";
    append_string(out, s.status_message);
  }
  out += "}}";
}

}  // namespace

std::string encode_otlp_json(std::span<const Span> spans, const Resource& resource) {
  const std::string_view version = resource.service_version.empty()
                                       ? std::string_view(GATEWAYD_VERSION)
                                       : std::string_view(resource.service_version);
  std::string out;
  out.reserve(256 + spans.size() * 512);
  out += R"({"resourceSpans":[{"resource":{"attributes":[)";
  append_attribute(out, "service.name", resource.service_name);
  out += ',';
  append_attribute(out, "service.version", std::string(version));
  if (!resource.service_instance_id.empty()) {
    out += ',';
    append_attribute(out, "service.instance.id", resource.service_instance_id);
  }
  bool first = false;
  append_attributes(out, resource.attributes, first);
  out += R"(]},"scopeSpans":[{"scope":{"name":"gatewayd","version":)";
  append_string(out, version);
  out += R"(},"spans":[)";
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out += ',';
    append_span(out, spans[i]);
  }
  out += "]}]}]}";
  return out;
}

}  // namespace gatewayd::tracing
