#include "filters/rate_limit/local_bucket_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace gatewayd::ratelimit {
namespace {

constexpr std::int64_t kSecond = 1'000'000;

bool take(LocalBucketStore& store, std::string_view key, TokenBucketParams p, std::int64_t now,
          TokenBucketResult* result = nullptr) {
  const LocalBucketStore::Item items[] = {{key, p}};
  TokenBucketResult out[1];
  const bool ok = store.take_all(items, now, out);
  if (result != nullptr) *result = out[0];
  return ok;
}

TEST(LocalBucketStore, ExactlyCapacityAllowedInABurstAcrossThreads) {
  LocalBucketStore store;
  const TokenBucketParams p{1000, 1e-6};  // refill negligible during the test
  const std::int64_t now = LocalBucketStore::now_us();
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (take(store, "{rl:r:ip:1.2.3.4}", p, now)) allowed.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1000);  // 4000 attempts, exactly the capacity admitted
}

TEST(LocalBucketStore, AllOrNothingAcrossBuckets) {
  LocalBucketStore store;
  const TokenBucketParams roomy{10, 1};
  const TokenBucketParams tight{1, 1};
  const LocalBucketStore::Item items[] = {{"a", roomy}, {"b", tight}};
  TokenBucketResult out[2];
  EXPECT_TRUE(store.take_all(items, 0, out));
  EXPECT_DOUBLE_EQ(out[0].remaining, 9);
  EXPECT_DOUBLE_EQ(out[1].remaining, 0);
  // "b" refuses: "a" must not be charged.
  EXPECT_FALSE(store.take_all(items, 0, out));
  EXPECT_TRUE(out[0].allowed);
  EXPECT_FALSE(out[1].allowed);
  EXPECT_DOUBLE_EQ(out[0].remaining, 9);
  EXPECT_EQ(out[1].retry_after.count(), kSecond);
  TokenBucketResult a;
  ASSERT_TRUE(take(store, "a", roomy, 0, &a));
  EXPECT_DOUBLE_EQ(a.remaining, 8);
}

TEST(LocalBucketStore, SameBucketTwiceInOneDecisionAndSharedShards) {
  // A store with one shard: every key shares it (the lock is taken once).
  LocalBucketStore store(1000, 1);
  const TokenBucketParams p{5, 1};
  const LocalBucketStore::Item items[] = {{"x", p}, {"y", p}, {"z", p}};
  TokenBucketResult out[3];
  EXPECT_TRUE(store.take_all(items, 0, out));
  EXPECT_EQ(store.size(), 3u);
}

TEST(LocalBucketStore, MemoryIsBoundedAndFullBucketsAreSweptFirst) {
  LocalBucketStore store(64, 4);  // 16 per shard
  const TokenBucketParams p{2, 1};
  for (int i = 0; i < 1000; ++i) take(store, "id" + std::to_string(i), p, 0);
  EXPECT_LE(store.size(), store.capacity());
  // Two seconds later every bucket is full again: the sweep frees all of them.
  EXPECT_GT(store.sweep(2 * kSecond), 0u);
  EXPECT_EQ(store.size(), 0u);
}

TEST(LocalBucketStore, EvictionKeepsBucketsThatAreStillRefilling) {
  LocalBucketStore store(16, 1);
  const TokenBucketParams slow{3, 0.001};  // empty buckets take ~50 minutes to refill
  const TokenBucketParams fast{1, 1000};   // full again after 1 ms
  // One busy identity drains its bucket.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(take(store, "busy", slow, 0));
  ASSERT_FALSE(take(store, "busy", slow, 0));
  // Later, a flood of one-off identities whose buckets are full again by now.
  for (int i = 0; i < 200; ++i) take(store, "oneoff" + std::to_string(i), fast, 10 * kSecond);
  EXPECT_LE(store.size(), 16u);
  // The busy bucket was never the eviction choice: it is still empty.
  EXPECT_FALSE(take(store, "busy", slow, 10 * kSecond));
}

}  // namespace
}  // namespace gatewayd::ratelimit
