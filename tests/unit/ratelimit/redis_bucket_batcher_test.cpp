// Decisions taken in one event-loop turn share one script call against a real redis-server:
// each stays all or nothing over its own buckets, calls are bounded in size, and a failed call
// fails every decision it carried.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "clients/redis_client.hpp"
#include "filters/rate_limit/redis_bucket_batcher.hpp"
#include "filters/rate_limit/redis_bucket_script.hpp"
#include "support/redis_server.hpp"

namespace gatewayd::ratelimit {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One decision to take: its buckets and, once decided, what came back.
struct Decision {
  Decision(std::vector<std::string> k, std::vector<TokenBucketParams> p, int c = 1,
           std::vector<std::uint32_t> e = {})
      : keys(std::move(k)), params(std::move(p)), cost(c), extras(std::move(e)) {}
  std::vector<std::string> keys;
  std::vector<TokenBucketParams> params;
  int cost = 1;
  std::vector<std::uint32_t> extras;
  std::optional<BucketVerdict> verdict;
  std::vector<TokenBucketResult> results;
  std::vector<std::uint32_t> granted;
};

class BatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gatewayd::test::redis_installed()) GTEST_SKIP() << "redis-server not installed";
    server_ = std::make_unique<gatewayd::test::RedisServer>();
    RedisOptions o;
    o.endpoint = {server_->host(), server_->port()};
    o.reconnect_min = 20ms;
    o.reconnect_max = 100ms;
    redis_ = RedisClient::create(io_.get_executor(), o);
    redis_->start();
  }
  void TearDown() override {
    if (redis_) redis_->stop();
  }

  // Starts every decision in the same turn, then runs the loop until all have a verdict.
  void decide_together(RedisBucketBatcher& batcher, std::vector<Decision>& decisions) {
    for (auto& d : decisions) {
      d.results.resize(d.params.size());
      d.granted.assign(d.params.size(), 0);
      asio::co_spawn(
          io_,
          [&batcher, &d]() -> asio::awaitable<void> {
            std::vector<std::string_view> keys(d.keys.begin(), d.keys.end());
            d.verdict = co_await batcher.decide(BucketCall{keys, d.params, d.cost, d.extras},
                                                Clock::now() + 2s, d.results, d.granted);
          },
          asio::detached);
    }
    const auto until = Clock::now() + 20s;
    auto all_done = [&] {
      for (const auto& d : decisions) {
        if (!d.verdict) return false;
      }
      return true;
    };
    while (!all_done() && Clock::now() < until) io_.run_one_for(50ms);
    ASSERT_TRUE(all_done()) << "decisions did not finish";
  }

  // Waits until the client is connected, so the first batch is not refused as "connecting".
  void wait_connected() {
    const auto until = Clock::now() + 10s;
    while (!redis_->ready() && Clock::now() < until) io_.run_one_for(20ms);
    ASSERT_TRUE(redis_->ready());
  }

  asio::io_context io_;
  std::unique_ptr<gatewayd::test::RedisServer> server_;
  std::shared_ptr<RedisClient> redis_;
};

const TokenBucketParams kThreePerMinute{3, 3.0 / 60.0};
const TokenBucketParams kHundredPerMinute{100, 100.0 / 60.0};

TEST_F(BatcherTest, DecisionsOfOneTurnShareOneCallAndCountInOrder) {
  wait_connected();
  auto batcher = RedisBucketBatcher::create(redis_);
  std::vector<Decision> decisions;
  // Five decisions on one bucket of 3: the first three take a token each, in arrival order.
  for (int i = 0; i < 5; ++i) {
    decisions.push_back({{RedisBucketScript::key("r", "shared")}, {kThreePerMinute}});
  }
  // Twenty callers with buckets of their own.
  for (int i = 0; i < 20; ++i) {
    decisions.push_back(
        {{RedisBucketScript::key("r", "caller" + std::to_string(i))}, {kThreePerMinute}});
  }
  decide_together(*batcher, decisions);
  EXPECT_EQ(batcher->calls(), 1u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(decisions[i].verdict->failure.empty()) << decisions[i].verdict->failure;
    EXPECT_EQ(decisions[i].verdict->allowed, i < 3) << i;
    EXPECT_NEAR(decisions[i].results[0].remaining, i < 3 ? 2 - i : 0, 0.01) << i;
  }
  for (std::size_t i = 5; i < decisions.size(); ++i) {
    EXPECT_TRUE(decisions[i].verdict->allowed) << i;
    EXPECT_NEAR(decisions[i].results[0].remaining, 2, 0.01) << i;
  }
  EXPECT_EQ(server_->cli({"HGET", RedisBucketScript::key("r", "caller7"), "tokens"}), "2");
}

TEST_F(BatcherTest, EachDecisionIsAllOrNothingOverItsOwnBuckets) {
  wait_connected();
  auto batcher = RedisBucketBatcher::create(redis_);
  const std::string empty = RedisBucketScript::key("one-per-minute", "a");
  const std::string shared = RedisBucketScript::key("hundred", "a");
  const TokenBucketParams one{1, 1.0 / 60.0};
  std::vector<Decision> first{{{empty}, {one}}};
  decide_together(*batcher, first);
  ASSERT_TRUE(first[0].verdict->allowed);

  // In one call: a decision over {empty, shared} is refused and must not charge `shared`; the
  // next decision over {shared} alone sees it untouched.
  std::vector<Decision> decisions{{{empty, shared}, {one, kHundredPerMinute}},
                                  {{shared}, {kHundredPerMinute}}};
  decide_together(*batcher, decisions);
  EXPECT_EQ(batcher->calls(), 2u);
  EXPECT_FALSE(decisions[0].verdict->allowed);
  EXPECT_FALSE(decisions[0].results[0].allowed);
  EXPECT_TRUE(decisions[1].verdict->allowed);
  EXPECT_NEAR(decisions[1].results[0].remaining, 99, 0.01);
}

TEST_F(BatcherTest, GivingBackRestoresAToken) {
  wait_connected();
  auto batcher = RedisBucketBatcher::create(redis_);
  const std::string key = RedisBucketScript::key("r", "refund");
  std::vector<Decision> take{{{key}, {kThreePerMinute}}, {{key}, {kThreePerMinute}}};
  decide_together(*batcher, take);
  std::vector<Decision> give{{{key}, {kThreePerMinute}, -1}};
  decide_together(*batcher, give);
  EXPECT_NEAR(give[0].results[0].remaining, 2, 0.01);
}

TEST_F(BatcherTest, ExtrasAreLeasedAsFarAsTheBucketHoldsThem) {
  wait_connected();
  auto batcher = RedisBucketBatcher::create(redis_);
  const std::string key = RedisBucketScript::key("r", "lease");
  const TokenBucketParams ten{10, 10.0 / 3600.0};
  // Asks for 4 extra, then 20 extra with 5 left: 1 for the request and the other 4 leased.
  std::vector<Decision> decisions{
      {{key}, {ten}, 1, {4}}, {{key}, {ten}, 1, {20}}, {{key}, {ten}, 1, {3}}};
  decide_together(*batcher, decisions);
  ASSERT_TRUE(decisions[0].verdict->allowed);
  EXPECT_EQ(decisions[0].granted[0], 4u);
  EXPECT_NEAR(decisions[0].results[0].remaining, 5, 0.01);
  ASSERT_TRUE(decisions[1].verdict->allowed);
  EXPECT_EQ(decisions[1].granted[0], 4u);
  EXPECT_NEAR(decisions[1].results[0].remaining, 0, 0.01);
  // Nothing left: refused, and a refusal leases nothing.
  EXPECT_FALSE(decisions[2].verdict->allowed);
  EXPECT_EQ(decisions[2].granted[0], 0u);
}

TEST_F(BatcherTest, CallsAreBoundedInSize) {
  wait_connected();
  auto batcher = RedisBucketBatcher::create(redis_, 4);
  std::vector<Decision> decisions;
  for (int i = 0; i < 10; ++i) {
    decisions.push_back(
        {{RedisBucketScript::key("r", "bounded" + std::to_string(i))}, {kThreePerMinute}});
  }
  decide_together(*batcher, decisions);
  EXPECT_EQ(batcher->calls(), 3u);  // 4 + 4 + 2
  for (const auto& d : decisions) EXPECT_TRUE(d.verdict->allowed);
}

TEST_F(BatcherTest, AFailedCallFailsEveryDecisionItCarried) {
  wait_connected();
  auto batcher = RedisBucketBatcher::create(redis_);
  server_->stop();
  std::vector<Decision> decisions;
  for (int i = 0; i < 3; ++i) {
    decisions.push_back(
        {{RedisBucketScript::key("r", "down" + std::to_string(i))}, {kThreePerMinute}});
  }
  decide_together(*batcher, decisions);
  EXPECT_EQ(batcher->calls(), 1u);
  for (const auto& d : decisions) {
    EXPECT_FALSE(d.verdict->failure.empty());
    EXPECT_FALSE(d.verdict->allowed);
  }
}

}  // namespace
}  // namespace gatewayd::ratelimit
