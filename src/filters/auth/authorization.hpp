#pragma once
// Route authorization: turns "who is calling" (a verified Principal, or a credential failure)
// and "what the route demands" into allow / 401 / 403, plus the identity headers the upstream
// receives.
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/auth/api_key_store.hpp"
#include "filters/auth/jwt_verifier.hpp"
#include "filters/auth/principal.hpp"
#include "gatewayd/config.hpp"

namespace gatewayd::auth {

struct RouteAuthRequirements {
  bool auth_required = true;
  bool accept_jwt = true;
  bool accept_api_key = true;
  std::vector<std::string> roles_any;        // at least one of these roles
  std::vector<std::string> scopes_all;       // every one of these scopes
  std::vector<std::string> permissions_all;  // every one of these permissions

  // From a route's auth_required / auth_methods / required_*; throws std::invalid_argument for
  // an unknown method name (config validation).
  static RouteAuthRequirements from_route(const RouteConfig& route);
};

enum class AuthzOutcome : std::uint8_t { kAllow, kUnauthorized, kForbidden };

struct AuthzDecision {
  AuthzOutcome outcome = AuthzOutcome::kAllow;
  unsigned status = 200;              // 401 / 403 when refused
  std::string_view code;              // "UNAUTHORIZED" / "FORBIDDEN" (the error body code)
  std::string_view reason;            // what kind of failure, stable: "TOKEN_EXPIRED", ...
  std::string_view message;           // safe text for the error body
  std::string_view www_authenticate;  // WWW-Authenticate value, empty when none

  bool allowed() const noexcept { return outcome == AuthzOutcome::kAllow; }
};

inline constexpr std::string_view kInvalidTokenChallenge = R"(Bearer error="invalid_token")";
inline constexpr std::string_view kInsufficientScopeChallenge =
    R"(Bearer error="insufficient_scope")";

// 401 answers for the three ways credentials can be missing or bad.
AuthzDecision missing_credentials() noexcept;
AuthzDecision credential_failure(JwtError error) noexcept;
AuthzDecision credential_failure(ApiKeyError error) noexcept;

// `principal` is null when the request carried no credentials. Public routes allow anyone.
AuthzDecision authorize(const Principal* principal, const RouteAuthRequirements& requirements);

// The headers the gateway owns: removed from every client request, then set from the
// principal when there is one.
inline constexpr std::array<std::string_view, 4> kIdentityHeaders = {
    "X-User-Id", "X-Roles", "X-Permissions", "X-Auth-Method"};

// X-User-Id, X-Roles (comma-separated), X-Permissions (comma-separated) and X-Auth-Method.
// Values are percent-encoded outside visible ASCII, and ',' and '%' are encoded too, so a claim
// can neither break the header nor add list entries; plain values pass through unchanged.
std::vector<std::pair<std::string_view, std::string>> identity_headers(const Principal& principal);

}  // namespace gatewayd::auth
