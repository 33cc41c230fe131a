#include "filters/auth/verified_token_cache.hpp"

#include <algorithm>

namespace gatewayd::auth {
namespace {

bool same_owner(const std::weak_ptr<const KeySet>& a, const std::shared_ptr<const KeySet>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

VerifiedTokenCache::VerifiedTokenCache(Options options)
    : options_(options),
      per_shard_(std::max<std::size_t>(1, (options.capacity + kShards - 1) / kShards)) {}

std::optional<Principal> VerifiedTokenCache::find(std::string_view token,
                                                  const std::shared_ptr<const KeySet>& keys,
                                                  SystemTime now) {
  if (options_.capacity == 0) return std::nullopt;
  const Sha256Digest digest = sha256(token);
  Shard& shard = shard_for(digest);
  std::lock_guard lock(shard.mu);
  auto it = shard.index.find(digest);
  if (it == shard.index.end()) return std::nullopt;
  Entry& e = *it->second;
  // A clock that went backwards could revisit a time before nbf: verify again instead.
  if (now >= e.valid_until || now < e.verified_at || !same_owner(e.keys, keys)) {
    shard.lru.erase(it->second);
    shard.index.erase(it);
    return std::nullopt;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return e.principal;
}

void VerifiedTokenCache::insert(std::string_view token, const std::shared_ptr<const KeySet>& keys,
                                const Principal& principal, SystemTime now) {
  if (options_.capacity == 0) return;
  SystemTime until = now + options_.ttl;
  if (principal.expires_at) until = std::min(until, *principal.expires_at);
  if (until <= now) return;
  const Sha256Digest digest = sha256(token);
  Shard& shard = shard_for(digest);
  std::lock_guard lock(shard.mu);
  if (auto it = shard.index.find(digest); it != shard.index.end()) {
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
  while (shard.lru.size() >= per_shard_) {
    shard.index.erase(shard.lru.back().digest);
    shard.lru.pop_back();
  }
  shard.lru.push_front(Entry{digest, principal, now, until, keys});
  shard.index.emplace(digest, shard.lru.begin());
}

std::size_t VerifiedTokenCache::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.lru.size();
  }
  return n;
}

void VerifiedTokenCache::clear() {
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    s.lru.clear();
    s.index.clear();
  }
}

}  // namespace gatewayd::auth
