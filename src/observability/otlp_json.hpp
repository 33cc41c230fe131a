#pragma once
// OTLP/HTTP JSON encoding of spans: the body of POST /v1/traces (an ExportTraceServiceRequest).
// Per the OTLP JSON mapping, trace and span ids are lowercase hex strings (not base64), enums
// are integers, and 64-bit integers (timestamps, intValue) are decimal strings.
#include <span>
#include <string>
#include <vector>

#include "observability/span.hpp"

namespace gatewayd::tracing {

struct Resource {
  std::string service_name = "gatewayd";
  std::string service_version;        // empty: the compiled-in version
  std::string service_instance_id;    // CLUSTER_NODE_ID
  std::vector<Attribute> attributes;  // more resource attributes (deployment.environment, ...)
};

std::string encode_otlp_json(std::span<const Span> spans, const Resource& resource);

}  // namespace gatewayd::tracing
