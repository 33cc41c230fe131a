#pragma once
// Remembers tokens that verified recently so a repeated token skips the signature check and
// claim parsing. Keyed by the SHA-256 of the token (a collision would be an authentication
// bypass, so no weaker hash), bounded in size (LRU per shard), and an entry is only good until
// min(exp, verified_at + ttl): an expired token is never served from here. Entries remember the
// key set they were verified with, so publishing a new set (a JWKS rotation that dropped a
// key) invalidates them. Thread-safe; sharded to keep lock hold times short and uncontended.
// A hit stands for a full verification under one set of JwtVerifyOptions (issuers, audiences,
// required claims), so each authenticator needs its own cache.
#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "filters/auth/crypto_util.hpp"
#include "filters/auth/key_set.hpp"
#include "filters/auth/principal.hpp"

namespace gatewayd::auth {

class VerifiedTokenCache {
 public:
  struct Options {
    std::size_t capacity = 10'000;
    std::chrono::seconds ttl{60};
  };

  explicit VerifiedTokenCache(Options options);
  VerifiedTokenCache() : VerifiedTokenCache(Options{}) {}

  // The principal of `token` if it verified with this very `keys` set and is still valid.
  std::optional<Principal> find(std::string_view token, const std::shared_ptr<const KeySet>& keys,
                                SystemTime now);
  void insert(std::string_view token, const std::shared_ptr<const KeySet>& keys,
              const Principal& principal, SystemTime now);

  std::size_t size() const;
  void clear();

 private:
  struct DigestHash {
    std::size_t operator()(const Sha256Digest& d) const noexcept {
      std::size_t h = 0;
      for (int i = 0; i < 8; ++i) h = h << 8 | d[i];
      return h;
    }
  };
  struct Entry {
    Sha256Digest digest;
    Principal principal;
    SystemTime verified_at;
    SystemTime valid_until;
    std::weak_ptr<const KeySet> keys;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // most recent first
    std::unordered_map<Sha256Digest, std::list<Entry>::iterator, DigestHash> index;
  };
  static constexpr std::size_t kShards = 16;

  Shard& shard_for(const Sha256Digest& d) noexcept { return shards_[d[31] % kShards]; }

  Options options_;
  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace gatewayd::auth
