#pragma once
// SINGLE-INSTANCE refresh token store, used when Redis is disabled. Tokens live in this
// process's memory: they are lost on restart and other gateway replicas do not know them, so a
// deployment with more than one replica needs Redis (REDIS_ENABLED=true). One store is shared by
// every worker of the process (a mutex guards it; calls are short and never wait on I/O).
//
// Bounded: at most `max_entries` tokens. Expired entries are dropped as time passes (an index
// ordered by expiry makes that cheap); when the store is full of live entries, new tokens are
// refused (kUnavailable) rather than evicting live ones. Revoked-family markers (one per revoked
// family, kept for the refresh TTL) have no cap of their own: only the holder of a stored token
// can create one, and only internal clients can create families.
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "filters/auth/refresh_token_store.hpp"

namespace gatewayd::auth {

class MemoryRefreshTokenStore final : public RefreshTokenStore {
 public:
  explicit MemoryRefreshTokenStore(std::size_t max_entries = 100'000);

  std::string_view kind() const noexcept override { return "memory"; }

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

  // The synchronous operations behind the awaitables (also handy in tests).
  RefreshStoreResult put_now(const RefreshTokenId& id, std::string data,
                             std::chrono::milliseconds ttl, SystemTime now);
  RefreshStoreResult rotate_now(const RefreshTokenId& old_id, const RefreshTokenId& fresh,
                                std::chrono::milliseconds ttl, std::chrono::milliseconds family_ttl,
                                SystemTime now);
  RefreshStoreResult get_now(const RefreshTokenId& id, std::chrono::milliseconds family_ttl,
                             SystemTime now);
  RefreshStoreResult revoke_now(const RefreshTokenId& id, bool family,
                                std::chrono::milliseconds family_ttl, SystemTime now);

  std::size_t size() const;  // stored tokens, expired ones not yet dropped included

 private:
  using ExpiryIndex = std::multimap<SystemTime, std::string>;  // expiry -> hash or family
  struct Token {
    std::string family;
    std::string data;
    bool used = false;
    ExpiryIndex::iterator expiry;
  };

  void prune(SystemTime now);
  bool family_revoked(const std::string& family, SystemTime now) const;
  void revoke_family(const std::string& family, std::chrono::milliseconds ttl, SystemTime now);
  void erase_token(std::unordered_map<std::string, Token>::iterator it);
  bool insert_token(const RefreshTokenId& id, std::string data, std::chrono::milliseconds ttl,
                    SystemTime now);
  // The live token `hash` or end(); expired ones count as absent.
  std::unordered_map<std::string, Token>::iterator find_live(const std::string& hash,
                                                             SystemTime now);

  const std::size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Token> tokens_;
  ExpiryIndex token_expiry_;
  std::unordered_map<std::string, ExpiryIndex::iterator> revoked_families_;
  ExpiryIndex family_expiry_;
};

}  // namespace gatewayd::auth
