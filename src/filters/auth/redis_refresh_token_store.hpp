#pragma once
// Refresh tokens in Redis, shared by every worker and replica. Keys (all of one family share
// the hash tag, so a family lives in one Redis Cluster slot and the Lua scripts are atomic):
//   gatewayd:rt:{<family>}:t:<sha256 hex>   "a<grant>" active | "u<grant>" used (rotated), PX ttl
//   gatewayd:rt:{<family>}:revoked          "1", PX family ttl
// Rotation, reuse detection and revocation are single Lua scripts, so two workers refreshing
// the same token at once cannot both win. Each store wraps one worker's RedisClient and is used
// only from that worker's event loop.
#include <memory>
#include <string>

#include "clients/redis_client.hpp"
#include "filters/auth/refresh_token_store.hpp"

namespace gatewayd::auth {

class RedisRefreshTokenStore final : public RefreshTokenStore {
 public:
  explicit RedisRefreshTokenStore(std::shared_ptr<RedisClient> client);

  std::string_view kind() const noexcept override { return "redis"; }

  boost::asio::awaitable<RefreshStoreResult> put(RefreshTokenId id, std::string data,
                                                 std::chrono::milliseconds ttl,
                                                 SystemTime now) override;
  boost::asio::awaitable<RefreshStoreResult> rotate(RefreshTokenId old_id, RefreshTokenId fresh,
                                                    std::chrono::milliseconds ttl,
                                                    std::chrono::milliseconds family_ttl,
                                                    SystemTime now) override;
  boost::asio::awaitable<RefreshStoreResult> get(RefreshTokenId id,
                                                 std::chrono::milliseconds family_ttl,
                                                 SystemTime now) override;
  boost::asio::awaitable<RefreshStoreResult> revoke(RefreshTokenId id, bool family,
                                                    std::chrono::milliseconds family_ttl,
                                                    SystemTime now) override;

  static std::string token_key(const RefreshTokenId& id);
  static std::string family_key(std::string_view family);

  const std::shared_ptr<RedisClient>& client() const noexcept { return client_; }

 private:
  std::shared_ptr<RedisClient> client_;
};

}  // namespace gatewayd::auth
