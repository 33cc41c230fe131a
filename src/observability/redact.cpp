#include "observability/redact.hpp"

#include <array>

namespace gatewayd::logging {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

constexpr std::array<std::string_view, 19> kSensitive{
    "api_key",  "apikey",   "api-key",       "key", "token",  "access_token",  "refresh_token",
    "id_token", "password", "passwd",        "pwd", "secret", "client_secret", "signature",
    "sig",      "auth",     "authorization", "jwt", "session"};

}  // namespace

bool is_sensitive_parameter(std::string_view name) noexcept {
  for (const auto s : kSensitive) {
    if (iequals(name, s)) return true;
  }
  return false;
}

void append_redacted_target(std::string& out, std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) {
    out += target;
    return;
  }
  out += target.substr(0, q + 1);
  std::string_view query = target.substr(q + 1);
  bool first = true;
  while (true) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && is_sensitive_parameter(param.substr(0, eq))) {
      out += param.substr(0, eq + 1);
      out += "REDACTED";
    } else {
      out += param;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

}  // namespace gatewayd::logging
