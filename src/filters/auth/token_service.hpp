#pragma once
// The logic behind the token endpoints, free of HTTP: issue an access token (signed with the
// gateway's key) plus a refresh token for a grant, refresh (rotating when enabled, with reuse
// detection), and revoke. One per worker, because the store it talks to may be a per-worker
// Redis client; the signer and options are shared.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filters/auth/jwt_signer.hpp"
#include "filters/auth/refresh_token_store.hpp"

namespace gatewayd::auth {

// What a token says about its holder; stored with every refresh token of a family.
struct Grant {
  std::string subject;
  std::string tenant_id;
  std::vector<std::string> roles;
  std::vector<std::string> permissions;
  std::vector<std::string> scopes;

  std::string to_json() const;
  static std::optional<Grant> from_json(std::string_view text);
};

struct TokenServiceOptions {
  std::chrono::seconds access_ttl{std::chrono::minutes(30)};     // JWT_EXPIRATION_MINUTES
  std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 7)};  // JWT_REFRESH_EXPIRATION_DAYS
  bool rotation = true;                                          // JWT_REFRESH_ROTATION_ENABLED
  std::string issuer;    // iss of issued tokens (first JWT_ISSUER); empty: none
  std::string audience;  // aud of issued tokens (first JWT_AUDIENCE); empty: none
};

enum class TokenFailure : std::uint8_t {
  kNone,
  kInvalidToken,  // malformed, unknown or expired refresh token
  kReused,        // a rotated token came back: its family is revoked now
  kRevoked,       // the family was revoked before
  kUnavailable,   // the store failed
  kNoSigningKey,  // no key configured to sign access tokens
  kSigningFailed,
};

std::string_view token_failure_name(TokenFailure failure) noexcept;  // "REFRESH_TOKEN_REUSED"...

struct TokenOutcome {
  TokenFailure failure = TokenFailure::kNone;
  std::string access_token;
  std::string refresh_token;  // empty when the refresh token stays the same
  std::int64_t expires_in = 0;
  std::int64_t refresh_expires_in = 0;  // 0 when no new refresh token was issued
  Grant grant;                          // who the tokens are for (also on kReused)
  std::string family;                   // refresh token family id, for audit
  std::string error;                    // why kUnavailable / kSigningFailed, for logs

  bool ok() const noexcept { return failure == TokenFailure::kNone; }
};

class TokenService {
 public:
  // `signer` may be null: issuing and refreshing then fail with kNoSigningKey, revoking works.
  TokenService(std::shared_ptr<const JwtSigner> signer, TokenServiceOptions options,
               std::shared_ptr<RefreshTokenStore> store);

  boost::asio::awaitable<TokenOutcome> issue(Grant grant, SystemTime now);
  boost::asio::awaitable<TokenOutcome> refresh(std::string refresh_token, SystemTime now);
  // ok() when a stored token was revoked; kInvalidToken when there was nothing to revoke.
  boost::asio::awaitable<TokenOutcome> revoke(std::string refresh_token, bool family,
                                              SystemTime now);

  // The access token for `grant` issued at `now`; nullopt when signing is impossible.
  std::optional<std::string> sign_access_token(const Grant& grant, SystemTime now) const;

  const TokenServiceOptions& options() const noexcept { return options_; }
  const RefreshTokenStore& store() const noexcept { return *store_; }

 private:
  std::shared_ptr<const JwtSigner> signer_;
  TokenServiceOptions options_;
  std::shared_ptr<RefreshTokenStore> store_;
};

}  // namespace gatewayd::auth
