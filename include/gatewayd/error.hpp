#pragma once
// Stable error codes and the one JSON error shape every local reply uses:
//   {"error":{"code":"RATE_LIMITED","message":"...","details":{}},"request_id":"..."}
// The code string is also the metric label and the audit reason.
#include <cstdint>
#include <string>
#include <string_view>

namespace gatewayd {

enum class ErrorCode : std::uint8_t {
  kNotFound,
  kMethodNotAllowed,
  kUnauthorized,
  kForbidden,
  kRateLimited,
  kCircuitOpen,
  kUpstreamUnavailable,
  kUpstreamTimeout,
  kBadGateway,
  kPayloadTooLarge,
  kHeadersTooLarge,
  kUriTooLong,
  kBadRequest,
  kRequestTimeout,
  kServiceUnavailable,
  kInternal,
};

// "NOT_FOUND", "RATE_LIMITED", ...
std::string_view error_code_name(ErrorCode code) noexcept;

// The HTTP status a code maps to by default (404, 429, ...).
unsigned error_status(ErrorCode code) noexcept;

// Builds the JSON error body. `details_json` must be a JSON object text ("{}" when empty).
// `trace_id`, when not empty, is added as "trace_id" next to "request_id" so a client can quote
// the trace of a failed request. Strings are JSON-escaped; nothing here echoes credentials,
// callers pass safe messages.
std::string error_body(std::string_view code, std::string_view message, std::string_view request_id,
                       std::string_view details_json = "{}", std::string_view trace_id = {});
inline std::string error_body(ErrorCode code, std::string_view message, std::string_view request_id,
                              std::string_view details_json = "{}",
                              std::string_view trace_id = {}) {
  return error_body(error_code_name(code), message, request_id, details_json, trace_id);
}

// Appends `s` to `out` as the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace gatewayd
