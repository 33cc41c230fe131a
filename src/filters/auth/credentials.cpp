#include "filters/auth/credentials.hpp"

namespace gatewayd::auth {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The credentials after "<scheme> " when the value uses `scheme`.
std::optional<std::string_view> after_scheme(std::string_view value,
                                             std::string_view scheme) noexcept {
  value = trim(value);
  if (value.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if ((value[i] | 0x20) != (scheme[i] | 0x20)) return std::nullopt;
  }
  if (value[scheme.size()] != ' ' && value[scheme.size()] != '\t') return std::nullopt;
  std::string_view rest = trim(value.substr(scheme.size()));
  if (rest.empty()) return std::nullopt;
  return rest;
}

}  // namespace

std::optional<std::string_view> extract_bearer_token(std::string_view authorization) noexcept {
  return after_scheme(authorization, "bearer");
}

std::optional<std::string_view> extract_api_key(std::string_view api_key_header_value,
                                                std::string_view authorization) noexcept {
  if (auto v = trim(api_key_header_value); !v.empty()) return v;
  return after_scheme(authorization, "apikey");
}

}  // namespace gatewayd::auth
