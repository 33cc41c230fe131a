#include "gatewayd/error.hpp"

#include <array>

namespace gatewayd {

namespace {
struct CodeInfo {
  std::string_view name;
  unsigned status;
};
constexpr std::array<CodeInfo, 16> kCodes{{
    {"NOT_FOUND", 404},
    {"METHOD_NOT_ALLOWED", 405},
    {"UNAUTHORIZED", 401},
    {"FORBIDDEN", 403},
    {"RATE_LIMITED", 429},
    {"CIRCUIT_OPEN", 503},
    {"UPSTREAM_UNAVAILABLE", 503},
    {"UPSTREAM_TIMEOUT", 504},
    {"BAD_GATEWAY", 502},
    {"PAYLOAD_TOO_LARGE", 413},
    {"HEADERS_TOO_LARGE", 431},
    {"URI_TOO_LONG", 414},
    {"BAD_REQUEST", 400},
    {"REQUEST_TIMEOUT", 408},
    {"SERVICE_UNAVAILABLE", 503},
    {"INTERNAL", 500},
}};
}  // namespace

std::string_view error_code_name(ErrorCode code) noexcept {
  return kCodes[static_cast<std::size_t>(code)].name;
}

unsigned error_status(ErrorCode code) noexcept {
  return kCodes[static_cast<std::size_t>(code)].status;
}

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
}

std::string error_body(std::string_view code, std::string_view message, std::string_view request_id,
                       std::string_view details_json, std::string_view trace_id) {
  std::string out;
  out.reserve(80 + code.size() + message.size() + request_id.size() + details_json.size() +
              trace_id.size());
  out += R"({"error":{"code":")";
  append_json_escaped(out, code);
  out += R"(","message":")";
  append_json_escaped(out, message);
  out += R"(","details":)";
  out += details_json.empty() ? std::string_view{"{}"} : details_json;
  out += R"(},"request_id":")";
  append_json_escaped(out, request_id);
  if (!trace_id.empty()) {
    out += R"(","trace_id":")";
    append_json_escaped(out, trace_id);
  }
  out += "\"}";
  return out;
}

}  // namespace gatewayd
