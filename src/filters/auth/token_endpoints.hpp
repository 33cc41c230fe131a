#pragma once
// The reserved token paths on the public listener:
//
//   POST /auth/token    {"sub": "user-1", "roles": [...], "permissions": [...],
//                        "scopes": [...] or "scope": "a b", "tenant_id": "..."}
//       Internal clients only (the auth service): `Authorization: Bearer
//       <AUTH_TOKEN_CLIENT_SECRET>`, or an API key (API_KEY_HEADER or `Authorization: ApiKey`)
//       that carries the scope `auth:token`. Answers a new access token and refresh token.
//   POST /auth/refresh  {"refresh_token": "..."}
//       Rotation (JWT_REFRESH_ROTATION_ENABLED): a new pair; the old refresh token stops
//       working and presenting it again revokes its whole family. Without rotation the same
//       refresh token is kept and only a new access token is returned.
//   POST /auth/revoke   {"refresh_token": "...", "family": false}
//       Revokes the token, or with "family": true every token of its family. Answers 200
//       {"revoked": true|false} (RFC 7009: an unknown token is not an error).
//
// Successful answers: {"access_token","refresh_token","token_type":"Bearer","expires_in",
// "refresh_expires_in"} with Cache-Control: no-store. Errors use the gateway's JSON error shape
// with a stable reason in details. Every issue, refresh, revoke and failure is an audit record
// (failures through the shared AuditLimiter). One instance per worker.
#include <functional>
#include <memory>
#include <string>

#include "filters/auth/api_key_store.hpp"
#include "filters/auth/audit_limiter.hpp"
#include "filters/auth/token_service.hpp"
#include "gatewayd/filter.hpp"

namespace gatewayd::auth {

inline constexpr std::string_view kTokenIssueScope = "auth:token";

struct TokenEndpointOptions {
  std::string client_secret;  // AUTH_TOKEN_CLIENT_SECRET; empty: API keys only
  bool api_keys_enabled = true;
  std::string api_key_header = "X-API-Key";
  std::size_t max_body = 16 * 1024;
};

class TokenEndpoints final : public LocalEndpoint {
 public:
  using ClockFn = std::function<SystemTime()>;

  // `api_keys` and `audit` may be null. `clock` defaults to the system clock.
  TokenEndpoints(std::shared_ptr<TokenService> service, TokenEndpointOptions options,
                 std::shared_ptr<const ApiKeyStore> api_keys, std::shared_ptr<AuditLimiter> audit,
                 ClockFn clock = {});

  bool owns(std::string_view path) const noexcept override;
  std::size_t max_body() const noexcept override { return options_.max_body; }
  boost::asio::awaitable<LocalResponse> handle(LocalRequest& request) override;

  const TokenService& service() const noexcept { return *service_; }

 private:
  // The request outlives these: handle()'s caller awaits it before touching the request again.
  boost::asio::awaitable<LocalResponse> issue(const LocalRequest& request) const;
  boost::asio::awaitable<LocalResponse> refresh(const LocalRequest& request) const;
  boost::asio::awaitable<LocalResponse> revoke(const LocalRequest& request) const;

  // Whether the caller of /auth/token is an internal client; sets `who` for the audit record.
  bool internal_client(const LocalRequest& request, std::string& who) const;
  // An error answer for `operation` ("issue", "refresh", "revoke"), audited as a failure.
  LocalResponse failure(const LocalRequest& request, std::string_view operation, unsigned status,
                        ErrorCode code, std::string_view reason, std::string_view message) const;
  // A rate-limited token_request_failed audit record.
  void audit_failure(const LocalRequest& request, std::string_view operation,
                     std::string_view reason) const;
  void audit(const LocalRequest& request, std::string event, std::string user_id,
             std::string details_json) const;

  std::shared_ptr<TokenService> service_;
  TokenEndpointOptions options_;
  std::shared_ptr<const ApiKeyStore> api_keys_;
  std::shared_ptr<AuditLimiter> audit_;
  ClockFn clock_;
  Sha256Digest secret_digest_{};
};

}  // namespace gatewayd::auth
