#include "filters/auth/memory_refresh_token_store.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace gatewayd::auth {
namespace {

RefreshStoreResult status(RefreshStatus s, std::string data = {}, std::string error = {}) {
  RefreshStoreResult r;
  r.status = s;
  r.data = std::move(data);
  r.error = std::move(error);
  return r;
}

}  // namespace

MemoryRefreshTokenStore::MemoryRefreshTokenStore(std::size_t max_entries)
    : max_entries_(max_entries) {}

std::size_t MemoryRefreshTokenStore::size() const {
  std::lock_guard lock(mu_);
  return tokens_.size();
}

void MemoryRefreshTokenStore::prune(SystemTime now) {
  while (!token_expiry_.empty() && token_expiry_.begin()->first <= now) {
    auto it = tokens_.find(token_expiry_.begin()->second);
    if (it != tokens_.end()) {
      erase_token(it);
    } else {
      token_expiry_.erase(token_expiry_.begin());
    }
  }
  while (!family_expiry_.empty() && family_expiry_.begin()->first <= now) {
    revoked_families_.erase(family_expiry_.begin()->second);
    family_expiry_.erase(family_expiry_.begin());
  }
}

void MemoryRefreshTokenStore::erase_token(std::unordered_map<std::string, Token>::iterator it) {
  token_expiry_.erase(it->second.expiry);
  tokens_.erase(it);
}

bool MemoryRefreshTokenStore::family_revoked(const std::string& family, SystemTime now) const {
  auto it = revoked_families_.find(family);
  return it != revoked_families_.end() && it->second->first > now;
}

void MemoryRefreshTokenStore::revoke_family(const std::string& family,
                                            std::chrono::milliseconds ttl, SystemTime now) {
  const SystemTime until = now + ttl;
  auto it = revoked_families_.find(family);
  if (it != revoked_families_.end()) {
    if (it->second->first >= until) return;
    family_expiry_.erase(it->second);
    it->second = family_expiry_.emplace(until, family);
    return;
  }
  // Never refused for lack of room: a revocation that silently failed would be worse than the
  // memory (see the header on why this cannot grow without stored tokens behind it).
  revoked_families_.emplace(family, family_expiry_.emplace(until, family));
}

std::unordered_map<std::string, MemoryRefreshTokenStore::Token>::iterator
MemoryRefreshTokenStore::find_live(const std::string& hash, SystemTime now) {
  auto it = tokens_.find(hash);
  if (it == tokens_.end()) return it;
  if (it->second.expiry->first <= now) {
    erase_token(it);
    return tokens_.end();
  }
  return it;
}

bool MemoryRefreshTokenStore::insert_token(const RefreshTokenId& id, std::string data,
                                           std::chrono::milliseconds ttl, SystemTime now) {
  if (tokens_.size() >= max_entries_) return false;
  auto expiry = token_expiry_.emplace(now + ttl, id.hash);
  auto [it, inserted] =
      tokens_.try_emplace(id.hash, Token{id.family, std::move(data), false, expiry});
  if (!inserted) {
    // 256 random bits collided: refuse rather than overwrite another grant.
    token_expiry_.erase(expiry);
    return false;
  }
  return true;
}

RefreshStoreResult MemoryRefreshTokenStore::put_now(const RefreshTokenId& id, std::string data,
                                                    std::chrono::milliseconds ttl, SystemTime now) {
  std::lock_guard lock(mu_);
  prune(now);
  if (!insert_token(id, std::move(data), ttl, now)) {
    return status(RefreshStatus::kUnavailable, {}, "memory refresh token store is full");
  }
  return status(RefreshStatus::kOk);
}

RefreshStoreResult MemoryRefreshTokenStore::rotate_now(const RefreshTokenId& old_id,
                                                       const RefreshTokenId& fresh,
                                                       std::chrono::milliseconds ttl,
                                                       std::chrono::milliseconds family_ttl,
                                                       SystemTime now) {
  std::lock_guard lock(mu_);
  prune(now);
  if (family_revoked(old_id.family, now)) return status(RefreshStatus::kRevoked);
  auto it = find_live(old_id.hash, now);
  if (it == tokens_.end() || it->second.family != old_id.family) {
    return status(RefreshStatus::kUnknown);
  }
  if (it->second.used) {
    revoke_family(old_id.family, family_ttl, now);
    return status(RefreshStatus::kReused);
  }
  if (fresh.family != old_id.family) {
    return status(RefreshStatus::kUnavailable, {}, "rotation across families");
  }
  std::string grant = it->second.data;
  if (!insert_token(fresh, grant, ttl, now)) {
    return status(RefreshStatus::kUnavailable, {}, "memory refresh token store is full");
  }
  tokens_.find(old_id.hash)->second.used = true;  // the insert may have moved `it`
  return status(RefreshStatus::kOk, std::move(grant));
}

RefreshStoreResult MemoryRefreshTokenStore::get_now(const RefreshTokenId& id,
                                                    std::chrono::milliseconds family_ttl,
                                                    SystemTime now) {
  std::lock_guard lock(mu_);
  prune(now);
  if (family_revoked(id.family, now)) return status(RefreshStatus::kRevoked);
  auto it = find_live(id.hash, now);
  if (it == tokens_.end() || it->second.family != id.family) {
    return status(RefreshStatus::kUnknown);
  }
  if (it->second.used) {
    revoke_family(id.family, family_ttl, now);
    return status(RefreshStatus::kReused);
  }
  return status(RefreshStatus::kOk, it->second.data);
}

RefreshStoreResult MemoryRefreshTokenStore::revoke_now(const RefreshTokenId& id, bool family,
                                                       std::chrono::milliseconds family_ttl,
                                                       SystemTime now) {
  std::lock_guard lock(mu_);
  prune(now);
  auto it = find_live(id.hash, now);
  if (it == tokens_.end() || it->second.family != id.family) {
    return status(RefreshStatus::kUnknown);
  }
  erase_token(it);
  if (family) revoke_family(id.family, family_ttl, now);
  return status(RefreshStatus::kOk);
}

boost::asio::awaitable<RefreshStoreResult> MemoryRefreshTokenStore::put(
    RefreshTokenId id, std::string data, std::chrono::milliseconds ttl, SystemTime now) {
  co_return put_now(id, std::move(data), ttl, now);
}

boost::asio::awaitable<RefreshStoreResult> MemoryRefreshTokenStore::rotate(
    RefreshTokenId old_id, RefreshTokenId fresh, std::chrono::milliseconds ttl,
    std::chrono::milliseconds family_ttl, SystemTime now) {
  co_return rotate_now(old_id, fresh, ttl, family_ttl, now);
}

boost::asio::awaitable<RefreshStoreResult> MemoryRefreshTokenStore::get(
    RefreshTokenId id, std::chrono::milliseconds family_ttl, SystemTime now) {
  co_return get_now(id, family_ttl, now);
}

boost::asio::awaitable<RefreshStoreResult> MemoryRefreshTokenStore::revoke(
    RefreshTokenId id, bool family, std::chrono::milliseconds family_ttl, SystemTime now) {
  co_return revoke_now(id, family, family_ttl, now);
}

}  // namespace gatewayd::auth
