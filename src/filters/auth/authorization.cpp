#include "filters/auth/authorization.hpp"

#include <algorithm>
#include <stdexcept>

namespace gatewayd::auth {
namespace {

constexpr std::string_view kUnauthorized = "UNAUTHORIZED";
constexpr std::string_view kForbidden = "FORBIDDEN";

AuthzDecision unauthorized(std::string_view reason, std::string_view message) noexcept {
  return {AuthzOutcome::kUnauthorized, 401, kUnauthorized, reason, message, kInvalidTokenChallenge};
}

AuthzDecision forbidden(std::string_view reason, std::string_view message,
                        std::string_view challenge = {}) noexcept {
  return {AuthzOutcome::kForbidden, 403, kForbidden, reason, message, challenge};
}

void append_encoded(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : value) {
    if (c > 0x20 && c < 0x7F && c != '%' && c != ',') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
}

std::string encode_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (item.empty()) continue;
    if (!out.empty()) out.push_back(',');
    append_encoded(out, item);
  }
  return out;
}

}  // namespace

RouteAuthRequirements RouteAuthRequirements::from_route(const RouteConfig& route) {
  RouteAuthRequirements r;
  r.auth_required = route.auth_required;
  if (!route.auth_methods.empty()) {
    r.accept_jwt = false;
    r.accept_api_key = false;
    for (const auto& m : route.auth_methods) {
      auto method = parse_auth_method(m);
      if (!method) {
        throw std::invalid_argument("unknown auth method '" + m + "' (use jwt or api_key)");
      }
      (*method == AuthMethod::kJwt ? r.accept_jwt : r.accept_api_key) = true;
    }
  }
  r.roles_any = route.required_roles;
  r.scopes_all = route.required_scopes;
  r.permissions_all = route.required_permissions;
  return r;
}

AuthzDecision missing_credentials() noexcept {
  return unauthorized("MISSING_CREDENTIALS", "authentication required");
}

AuthzDecision credential_failure(JwtError error) noexcept {
  switch (error) {
    case JwtError::kMalformed:
      return unauthorized("TOKEN_MALFORMED", "token is malformed");
    case JwtError::kBadSignature:
      return unauthorized("TOKEN_BAD_SIGNATURE", "token signature is invalid");
    case JwtError::kUnsupportedAlg:
      return unauthorized("TOKEN_UNSUPPORTED_ALG", "token algorithm not accepted");
    case JwtError::kExpired:
      return unauthorized("TOKEN_EXPIRED", "token expired");
    case JwtError::kNotYetValid:
      return unauthorized("TOKEN_NOT_YET_VALID", "token not yet valid");
    case JwtError::kBadIssuer:
      return unauthorized("TOKEN_BAD_ISSUER", "token issuer not accepted");
    case JwtError::kBadAudience:
      return unauthorized("TOKEN_BAD_AUDIENCE", "token audience not accepted");
    case JwtError::kMissingClaim:
      return unauthorized("TOKEN_MISSING_CLAIM", "token lacks a required claim");
    case JwtError::kUnknownKid:
      return unauthorized("TOKEN_UNKNOWN_KEY", "token signing key unknown");
    case JwtError::kTooLarge:
      return unauthorized("TOKEN_TOO_LARGE", "token too large");
  }
  return unauthorized("TOKEN_INVALID", "token is invalid");
}

AuthzDecision credential_failure(ApiKeyError error) noexcept {
  switch (error) {
    case ApiKeyError::kMalformed:
      return unauthorized("API_KEY_MALFORMED", "API key is malformed");
    case ApiKeyError::kUnknown:
      return unauthorized("API_KEY_INVALID", "API key is not valid");
    case ApiKeyError::kExpired:
      return unauthorized("API_KEY_EXPIRED", "API key expired");
    case ApiKeyError::kDisabled:
      return unauthorized("API_KEY_DISABLED", "API key is disabled");
  }
  return unauthorized("API_KEY_INVALID", "API key is not valid");
}

AuthzDecision authorize(const Principal* principal, const RouteAuthRequirements& req) {
  if (!req.auth_required) return {};
  if (principal == nullptr) return missing_credentials();
  const bool method_ok =
      principal->auth_method == AuthMethod::kJwt ? req.accept_jwt : req.accept_api_key;
  if (!method_ok) {
    return unauthorized("AUTH_METHOD_NOT_ACCEPTED",
                        "this route does not accept this kind of credential");
  }
  if (!req.roles_any.empty() &&
      std::none_of(req.roles_any.begin(), req.roles_any.end(),
                   [&](const std::string& r) { return principal->has_role(r); })) {
    return forbidden("INSUFFICIENT_ROLE", "a required role is missing");
  }
  for (const auto& s : req.scopes_all) {
    if (!principal->has_scope(s)) {
      return forbidden("INSUFFICIENT_SCOPE", "a required scope is missing",
                       kInsufficientScopeChallenge);
    }
  }
  for (const auto& p : req.permissions_all) {
    if (!principal->has_permission(p)) {
      return forbidden("INSUFFICIENT_PERMISSION", "a required permission is missing");
    }
  }
  return {};
}

std::vector<std::pair<std::string_view, std::string>> identity_headers(const Principal& p) {
  std::vector<std::pair<std::string_view, std::string>> out;
  out.reserve(kIdentityHeaders.size());
  std::string user;
  append_encoded(user, p.subject);
  out.emplace_back(kIdentityHeaders[0], std::move(user));
  out.emplace_back(kIdentityHeaders[1], encode_list(p.roles));
  out.emplace_back(kIdentityHeaders[2], encode_list(p.permissions));
  out.emplace_back(kIdentityHeaders[3], std::string(auth_method_name(p.auth_method)));
  return out;
}

}  // namespace gatewayd::auth
