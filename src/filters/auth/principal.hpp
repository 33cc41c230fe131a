#pragma once
// The verified identity of a request, from a JWT or an API key. Filled once by the auth stage
// and read by authorization, rate limiting (per user / per key), identity forwarding and logs.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatewayd/records.hpp"

namespace gatewayd::auth {

enum class AuthMethod : std::uint8_t { kJwt, kApiKey };

// "jwt" / "api_key": the names routes use in `auth_methods` and X-Auth-Method carries.
std::string_view auth_method_name(AuthMethod method) noexcept;
std::optional<AuthMethod> parse_auth_method(std::string_view name) noexcept;

struct Principal {
  std::string subject;  // JWT sub (else user_id); API key owner user_id
  std::vector<std::string> roles;
  std::vector<std::string> permissions;
  std::vector<std::string> scopes;
  std::string issuer;     // JWT iss; empty for API keys
  std::string tenant_id;  // API keys (and a JWT tenant_id claim when present)
  std::optional<SystemTime> expires_at;
  AuthMethod auth_method = AuthMethod::kJwt;
  std::string key_id;  // JWT kid of the verifying key; API key name or hash prefix
  // The API key's own limits (api_keys.rate_limit_per_minute / _per_hour), enforced per key id
  // by the rate limiter in addition to the route and rule-set limits.
  std::optional<std::uint32_t> rate_limit_per_minute;
  std::optional<std::uint32_t> rate_limit_per_hour;

  bool has_role(std::string_view role) const noexcept;
  bool has_scope(std::string_view scope) const noexcept;
  bool has_permission(std::string_view permission) const noexcept;
};

}  // namespace gatewayd::auth
