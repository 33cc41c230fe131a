#include "filters/rate_limit/local_bucket_store.hpp"

#include <algorithm>
#include <boost/container/small_vector.hpp>

namespace gatewayd::ratelimit {

namespace {

std::int64_t full_at(const TokenBucketState& s, const TokenBucketParams& p) {
  return s.stamp_us + bucket_time_until(s.tokens, p.capacity, p).count();
}

}  // namespace

LocalBucketStore::LocalBucketStore(std::size_t max_buckets, std::size_t shards) {
  shards = std::max<std::size_t>(shards, 1);
  max_per_shard_ = std::max<std::size_t>(max_buckets / shards, 1);
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->rng += i;
  }
}

LocalBucketStore::~LocalBucketStore() = default;

std::int64_t LocalBucketStore::now_us() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::size_t LocalBucketStore::shard_of(std::string_view key) const noexcept {
  // Mix the hash so shard choice does not follow the map's own bucket choice.
  std::uint64_t h = std::hash<std::string_view>{}(key);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<std::size_t>(h % shards_.size());
}

void LocalBucketStore::evict_one(Shard& shard, std::int64_t now_us) {
  auto& map = shard.buckets;
  if (map.empty()) return;
  // Sample a few hash buckets from a random start and drop the entry closest to full (a full one
  // is dropped at once: it carries no information).
  auto next_random = [&shard] {
    shard.rng ^= shard.rng << 13;
    shard.rng ^= shard.rng >> 7;
    shard.rng ^= shard.rng << 17;
    return shard.rng;
  };
  const std::size_t bucket_count = map.bucket_count();
  const std::string* victim = nullptr;
  std::int64_t victim_full_at = 0;
  std::size_t seen = 0;
  for (std::size_t tries = 0; tries < 64 && seen < 8; ++tries) {
    const std::size_t b = static_cast<std::size_t>(next_random() % bucket_count);
    for (auto it = map.begin(b); it != map.end(b); ++it) {
      ++seen;
      if (victim == nullptr || it->second.full_at_us < victim_full_at) {
        victim = &it->first;
        victim_full_at = it->second.full_at_us;
      }
    }
    if (victim != nullptr && victim_full_at <= now_us) break;
  }
  map.erase(victim != nullptr ? map.find(*victim) : map.begin());
}

LocalBucketStore::Entry& LocalBucketStore::find_or_insert(Shard& shard, std::string_view key,
                                                          const TokenBucketParams& p,
                                                          std::int64_t now_us) {
  auto it = shard.buckets.find(key);
  if (it != shard.buckets.end()) return it->second;
  Entry e;
  e.state = bucket_full(p, now_us);
  e.full_at_us = now_us;
  return shard.buckets.emplace(std::string(key), e).first->second;
}

bool LocalBucketStore::take_all(std::span<const Item> items, std::int64_t now_us,
                                std::span<TokenBucketResult> out) {
  if (items.empty()) return true;
  boost::container::small_vector<std::size_t, 8> idx(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) idx[i] = shard_of(items[i].key);
  // Lock every shard involved in ascending order, so concurrent requests cannot deadlock.
  boost::container::small_vector<std::size_t, 8> order(idx.begin(), idx.end());
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  for (const std::size_t s : order) shards_[s]->mutex.lock();

  // Make room first, so that no insertion below evicts a bucket this decision already holds.
  for (const std::size_t s : order) {
    Shard& shard = *shards_[s];
    std::size_t missing = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (idx[i] == s && shard.buckets.find(items[i].key) == shard.buckets.end()) ++missing;
    }
    while (missing > 0 && !shard.buckets.empty() &&
           shard.buckets.size() + missing > max_per_shard_) {
      evict_one(shard, now_us);
    }
  }

  // Refill and check every bucket, then take from all of them only if all allow.
  boost::container::small_vector<Entry*, 8> entries(items.size());
  bool allowed = true;
  for (std::size_t i = 0; i < items.size(); ++i) {
    entries[i] = &find_or_insert(*shards_[idx[i]], items[i].key, items[i].params, now_us);
    out[i] = bucket_peek(entries[i]->state, items[i].params, now_us);
    if (!out[i].allowed) allowed = false;
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    Entry& e = *entries[i];
    if (allowed) out[i] = bucket_take(e.state, items[i].params, now_us);
    e.full_at_us = full_at(e.state, items[i].params);
  }

  for (const std::size_t s : order) shards_[s]->mutex.unlock();
  return allowed;
}

std::size_t LocalBucketStore::sweep(std::int64_t now_us) {
  std::size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    removed += std::erase_if(shard->buckets,
                             [now_us](const auto& kv) { return kv.second.full_at_us <= now_us; });
  }
  return removed;
}

std::size_t LocalBucketStore::size() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    n += shard->buckets.size();
  }
  return n;
}

}  // namespace gatewayd::ratelimit
