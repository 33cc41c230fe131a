#pragma once
// In-process token buckets shared by every worker thread, so a limit means the same with 1 or 8
// workers. Buckets live in N shards, each a hash map behind its own mutex (a decision holds one
// or a few shard locks for well under a microsecond).
//
// Memory is bounded: a bucket that has refilled to capacity is indistinguishable from a missing
// one, so such buckets are evicted by a periodic sweep() and whenever a shard is full. If a shard
// is full of buckets that are all still refilling, the sampled bucket closest to full goes (a
// flood of new identities can then reset someone's bucket early, but memory stays bounded).
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "filters/rate_limit/token_bucket.hpp"

namespace gatewayd::ratelimit {

class LocalBucketStore {
 public:
  struct Item {
    std::string_view key;
    TokenBucketParams params;
  };

  explicit LocalBucketStore(std::size_t max_buckets = 100'000, std::size_t shards = 64);
  ~LocalBucketStore();
  LocalBucketStore(const LocalBucketStore&) = delete;
  LocalBucketStore& operator=(const LocalBucketStore&) = delete;

  // One decision over every item, all or nothing: each bucket gives a token only when all of
  // them have one, so a request refused by one rule costs nothing in the others. `out` receives
  // one result per item (out.size() == items.size()). Returns whether the request is allowed.
  bool take_all(std::span<const Item> items, std::int64_t now_us, std::span<TokenBucketResult> out);

  // Removes buckets that have refilled to capacity by `now_us`. Returns how many went.
  std::size_t sweep(std::int64_t now_us);

  std::size_t size() const;
  std::size_t capacity() const noexcept { return max_per_shard_ * shards_.size(); }

  // Microseconds on the monotonic clock, the time base of local buckets.
  static std::int64_t now_us() noexcept;

 private:
  struct Entry {
    TokenBucketState state;
    std::int64_t full_at_us = 0;  // when the bucket is back at capacity if left alone
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> buckets;
    std::uint64_t rng = 0x9E3779B97F4A7C15ULL;
  };

  std::size_t shard_of(std::string_view key) const noexcept;
  Entry& find_or_insert(Shard& shard, std::string_view key, const TokenBucketParams& p,
                        std::int64_t now_us);
  void evict_one(Shard& shard, std::int64_t now_us);

  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t max_per_shard_;
};

}  // namespace gatewayd::ratelimit
