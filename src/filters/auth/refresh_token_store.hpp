#pragma once
// Where refresh tokens live between /auth/token, /auth/refresh and /auth/revoke.
//
// A refresh token is opaque to clients: "rt1.<family>.<secret>", where <family> (16 random
// bytes) names the chain of tokens rotation produces from one issue and <secret> (32 random
// bytes) makes the token unguessable. Stores keep only the SHA-256 of the whole token, so a
// leaked store does not yield usable tokens; the family id is kept in clear so that every token
// of a family can be found (and, in Redis Cluster, so that a family's keys share one slot).
//
// Each stored token is in one of two states: active (can be refreshed once) or used (it was
// rotated; presenting it again is reuse: the family is revoked). A family can be marked revoked,
// which kills every token in it. Stored entries expire after their TTL.
//
// Two implementations: RedisRefreshTokenStore (shared by every replica and worker; the one for
// production) and MemoryRefreshTokenStore (single instance only: tokens do not survive a restart
// and other replicas do not see them).
//
// Store calls are asynchronous and report failures as values; they run on the calling worker's
// event loop.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gatewayd/records.hpp"

namespace gatewayd::auth {

struct RefreshTokenId {
  std::string family;  // 22 base64url characters
  std::string hash;    // lower-case hex SHA-256 of the whole token
};

struct NewRefreshToken {
  std::string token;  // handed to the client once
  RefreshTokenId id;
};

// A new token in a new family, or (rotation) a new token in `family`.
NewRefreshToken generate_refresh_token();
NewRefreshToken generate_refresh_token(std::string_view family);

// Parses the client's token: nullopt unless it has exactly the shape generate_refresh_token()
// produces (checked before hashing, so junk costs nothing).
std::optional<RefreshTokenId> parse_refresh_token(std::string_view token);

enum class RefreshStatus : std::uint8_t {
  kOk,
  kUnknown,      // not stored: never issued, expired, or revoked on its own
  kReused,       // an already rotated token was presented; the family is now revoked
  kRevoked,      // its family was revoked earlier
  kUnavailable,  // the store could not answer (Redis down or slow)
};

std::string_view refresh_status_name(RefreshStatus status) noexcept;  // "ok", "reused", ...

struct RefreshStoreResult {
  RefreshStatus status = RefreshStatus::kUnavailable;
  std::string data;   // the grant stored with the token (kOk)
  std::string error;  // why kUnavailable, for logs (never a token)

  bool ok() const noexcept { return status == RefreshStatus::kOk; }
};

class RefreshTokenStore {
 public:
  virtual ~RefreshTokenStore() = default;

  // "redis" or "memory"; for logs, readiness and audit details.
  virtual std::string_view kind() const noexcept = 0;

  // Stores a new active token with `data` for `ttl`. kOk or kUnavailable.
  virtual boost::asio::awaitable<RefreshStoreResult> put(RefreshTokenId id, std::string data,
                                                         std::chrono::milliseconds ttl,
                                                         SystemTime now) = 0;

  // Atomically: when `old_id` is active and its family not revoked, marks it used (it keeps its
  // remaining TTL so a later reuse is still recognised), stores `fresh` as active with the old
  // token's grant for `ttl`, and answers kOk with that grant. A used `old_id` revokes the family
  // for `family_ttl` and answers kReused. `fresh` must be in the same family.
  virtual boost::asio::awaitable<RefreshStoreResult> rotate(RefreshTokenId old_id,
                                                            RefreshTokenId fresh,
                                                            std::chrono::milliseconds ttl,
                                                            std::chrono::milliseconds family_ttl,
                                                            SystemTime now) = 0;

  // Reads an active token without changing it (rotation disabled). A used token is still
  // reuse: the family is revoked and kReused answered.
  virtual boost::asio::awaitable<RefreshStoreResult> get(RefreshTokenId id,
                                                         std::chrono::milliseconds family_ttl,
                                                         SystemTime now) = 0;

  // Deletes a stored token (active or used) and, with `family`, revokes its family for
  // `family_ttl`. kUnknown when the token is not stored, which leaves the family alone: only
  // a holder of a real token of the family can revoke it.
  virtual boost::asio::awaitable<RefreshStoreResult> revoke(RefreshTokenId id, bool family,
                                                            std::chrono::milliseconds family_ttl,
                                                            SystemTime now) = 0;
};

}  // namespace gatewayd::auth
