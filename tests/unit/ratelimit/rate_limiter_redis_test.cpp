// The limiter with its buckets in real redis-server processes: the Lua script, NOSCRIPT
// recovery, a limit shared by several gateway instances, failure modes with Redis stopped or
// unresponsive, recovery, and a 3-master Redis Cluster with slot migration.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <cmath>
#include <thread>

#include "clients/redis_client.hpp"
#include "clients/redis_slot.hpp"
#include "filters/rate_limit/rate_limiter.hpp"
#include "filters/rate_limit/redis_bucket_script.hpp"
#include "filters/rate_limit/rule_table.hpp"
#include "gatewayd/config.hpp"
#include "limiter_test_util.hpp"
#include "support/polling.hpp"
#include "support/redis_server.hpp"

namespace gatewayd::ratelimit {
namespace {

namespace ip = boost::asio::ip;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::run;
using test::spin;

RateLimitSettings redis_settings(const std::string& host, std::uint16_t port) {
  RateLimitSettings s;
  s.backend = Backend::kRedis;
  s.default_per_minute = 0;
  // Generous: a loaded test machine must not turn into a failure-mode test by accident.
  s.redis_timeout = 1000ms;
  s.redis.endpoint = {host, port};
  s.redis.connect_timeout = 1000ms;
  s.redis.command_timeout = s.redis_timeout;
  s.redis.reconnect_min = 20ms;
  s.redis.reconnect_max = 200ms;
  s.redis.name = "ratelimit-test";
  return s;
}

RouteConfig route(std::string name, std::uint32_t limit) {
  RouteConfig r;
  r.name = std::move(name);
  r.path = "/r";
  r.service = "svc";
  r.rate_limit = limit;
  return r;
}

RateLimitRequest request(const RouteConfig* r, const char* peer) {
  RateLimitRequest req;
  req.route = r;
  req.path = "/r";
  req.peer = ip::make_address(peer);
  return req;
}

// One gateway instance: its own io_context, service (local buckets) and limiter.
struct Instance {
  explicit Instance(RateLimitSettings s, std::shared_ptr<RecordSink> sink = nullptr)
      : service(std::make_shared<RateLimitService>(std::move(s), std::move(sink))),
        limiter(RateLimiter::create(service, io.get_executor())) {}
  ~Instance() { limiter->stop(); }
  RateLimitDecision check(const RateLimitRequest& req) { return run(io, limiter->check(req)); }
  // Checks until a decision comes from `source` again (Redis back) or `limit` passes.
  bool wait_for_source(const RateLimitRequest& req, DecisionSource source,
                       std::chrono::seconds limit = 20s) {
    const auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      if (check(req).source == source) return true;
      spin(io, 50ms);
    }
    return false;
  }
  boost::asio::io_context io;
  std::shared_ptr<RateLimitService> service;
  std::shared_ptr<RateLimiter> limiter;
};

class RedisLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gatewayd::test::redis_installed()) GTEST_SKIP() << "redis-server not installed";
    server_ = std::make_unique<gatewayd::test::RedisServer>();
  }
  RateLimitSettings settings() const { return redis_settings(server_->host(), server_->port()); }
  std::unique_ptr<gatewayd::test::RedisServer> server_;
};

TEST_F(RedisLimiterTest, LuaScriptDecidesWithTtlKeys) {
  Instance gw(settings());
  const auto r = route("GET /r", 5);
  const auto req = request(&r, "198.51.100.1");
  for (int i = 0; i < 5; ++i) {
    const auto d = gw.check(req);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.source, DecisionSource::kRedis);
    EXPECT_EQ(d.remaining, static_cast<std::uint64_t>(4 - i));
    EXPECT_EQ(d.limit, 5u);
  }
  const auto refused = gw.check(req);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.source, DecisionSource::kRedis);
  EXPECT_EQ(refused.retry_after_seconds, 12u);  // 5 per minute: a token every 12 s
  EXPECT_EQ(refused.reset_seconds, 60u);

  const std::string key = RedisBucketScript::key("GET /r", "ip:198.51.100.1");
  EXPECT_EQ(key, "{rl:GET /r:ip:198.51.100.1}");
  const long ttl = std::stol(server_->cli({"PTTL", key}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 61'000);
  // Another caller is unaffected.
  EXPECT_TRUE(gw.check(request(&r, "198.51.100.2")).allowed);
}

TEST_F(RedisLimiterTest, RedisClockGoingBackwardsMintsNothing) {
  Instance gw(settings());
  const auto r = route("GET /r", 5);
  const auto req = request(&r, "198.51.100.1");
  ASSERT_TRUE(gw.check(req).allowed);
  // Pretend the bucket was last updated 10 minutes in the future (a failover to a node whose
  // clock is behind): it is empty and must stay empty, not refill by a negative elapsed time.
  const std::string key = RedisBucketScript::key("GET /r", "ip:198.51.100.1");
  const std::string time = server_->cli({"TIME"});
  const auto newline = time.find('\n');
  const long long now_us =
      std::stoll(time.substr(0, newline)) * 1'000'000 + std::stoll(time.substr(newline + 1));
  server_->cli({"HSET", key, "tokens", "0", "stamp", std::to_string(now_us + 600'000'000)});
  const auto d = gw.check(req);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.source, DecisionSource::kRedis);
  // A stamp a minute in the past refills the bucket completely.
  server_->cli({"HSET", key, "tokens", "0", "stamp", std::to_string(now_us - 61'000'000)});
  const auto refilled = gw.check(req);
  EXPECT_TRUE(refilled.allowed);
  EXPECT_EQ(refilled.remaining, 4u);
}

TEST_F(RedisLimiterTest, ScriptIsReloadedAfterScriptFlush) {
  Instance gw(settings());
  const auto r = route("GET /r", 100);
  const auto req = request(&r, "198.51.100.1");
  ASSERT_EQ(gw.check(req).source, DecisionSource::kRedis);
  server_->cli({"SCRIPT", "FLUSH"});
  const auto d = gw.check(req);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.source, DecisionSource::kRedis);  // reloaded, not a failure
  EXPECT_EQ(d.remaining, 98u);
  EXPECT_FALSE(gw.service->degraded());
}

TEST_F(RedisLimiterTest, ThreeInstancesShareOneLimit) {
  // 1000 requests spread over three gateway instances (each with its own connection and
  // pipelined concurrent checks) against a limit of 100 per minute.
  constexpr int kRequests = 1000;
  constexpr int kInstances = 3;
  const auto r = route("GET /shared", 100);
  std::atomic<int> allowed{0}, redis_decisions{0};
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int g = 0; g < kInstances; ++g) {
    threads.emplace_back([&, g] {
      Instance gw(settings());
      int done = 0;
      const int mine = kRequests / kInstances + (g < kRequests % kInstances ? 1 : 0);
      const auto req = request(&r, "198.51.100.1");
      for (int i = 0; i < mine; ++i) {
        boost::asio::co_spawn(gw.io, gw.limiter->check(req),
                              [&](std::exception_ptr, RateLimitDecision d) {
                                ++done;
                                if (d.allowed) allowed.fetch_add(1);
                                if (d.source == DecisionSource::kRedis) redis_decisions++;
                              });
      }
      const auto until = Clock::now() + 60s;
      while (done < mine && Clock::now() < until) gw.io.run_one_for(50ms);
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_EQ(redis_decisions.load(), kRequests);
  EXPECT_GE(allowed.load(), 100);
  // At most the burst plus what refilled (100 per minute) while the test ran.
  EXPECT_LE(allowed.load(), 100 + static_cast<int>(std::ceil(elapsed * 100.0 / 60.0)) + 1);
}

// Script calls the server has run ("cmdstat_evalsha:calls=N" in INFO commandstats).
long evalsha_calls(const gatewayd::test::RedisServer& server) {
  const std::string info = server.cli({"INFO", "commandstats"});
  const auto at = info.find("cmdstat_evalsha:calls=");
  if (at == std::string::npos) return 0;
  return std::stol(info.substr(at + 22));
}

double redis_tokens(const gatewayd::test::RedisServer& server, const std::string& key) {
  const std::string v = server.cli({"HGET", key, "tokens"});
  return v.empty() ? -1 : std::stod(v);
}

RateLimitRequest key_request(std::uint32_t per_hour) {
  RateLimitRequest req;
  req.path = "/r";
  req.peer = ip::make_address("198.51.100.1");
  static const std::string id = "hot-key";
  req.api_key_id = id;
  req.api_key_per_hour = per_hour;
  return req;
}

TEST_F(RedisLimiterTest, HotBucketIsMostlyDecidedFromLeasesAndUnspentTokensGoBack) {
  // 36,000 per hour: a bucket of 36,000 refilling 10 per second; leases up to 1% (360).
  Instance gw(settings());
  const auto req = key_request(36'000);
  const std::string key = RedisBucketScript::key("api_key_per_hour", "key:hot-key");
  const long calls_before = evalsha_calls(*server_);
  constexpr int kChecks = 2000;
  for (int i = 0; i < kChecks; ++i) {
    const auto d = gw.check(req);
    ASSERT_TRUE(d.allowed) << i;
    ASSERT_EQ(d.source, DecisionSource::kRedis) << i;
  }
  const long calls = evalsha_calls(*server_) - calls_before;
  EXPECT_LT(calls, kChecks / 4) << "one check after another: only leases can save calls";

  // Leased tokens were taken from Redis before they were spent: Redis holds at most what the
  // spent ones left (plus what refilled), and not much less (the lease is capped at 360).
  const double held = redis_tokens(*server_, key);
  EXPECT_LE(held, 36'000 - kChecks + 10 * 60);
  EXPECT_GE(held, 36'000 - kChecks - 360);

  // The lease expires (250 ms) while this worker is quiet: its sweep gives back what was not
  // spent, so Redis again holds everything but the spent tokens.
  EXPECT_TRUE(gatewayd::test::eventually(
      [&] {
        spin(gw.io, 20ms);
        return redis_tokens(*server_, key) >= 36'000 - kChecks;
      },
      10s))
      << redis_tokens(*server_, key);
}

TEST_F(RedisLimiterTest, LeasingOffSendsEveryDecisionToRedis) {
  auto s = settings();
  s.redis_lease_percent = 0;
  Instance gw(s);
  const auto req = key_request(36'000);
  ASSERT_TRUE(gw.check(req).allowed);  // loads the script (the first EVALSHA meets NOSCRIPT)
  const long calls_before = evalsha_calls(*server_);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(gw.check(req).allowed);
  EXPECT_EQ(evalsha_calls(*server_) - calls_before, 300);
}

TEST_F(RedisLimiterTest, LeasesNeverAdmitMoreThanTheLimitAcrossInstances) {
  // 3,000 concurrent requests over three instances against 1,200 per hour (leases of up to 12).
  constexpr int kRequests = 3000;
  constexpr int kInstances = 3;
  std::atomic<int> allowed{0};
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int g = 0; g < kInstances; ++g) {
    threads.emplace_back([&] {
      Instance gw(settings());
      int done = 0;
      const auto req = key_request(1200);
      // Waves of 20 concurrent checks: batching and leasing both at work.
      for (int sent = 0; sent < kRequests / kInstances; sent += 20) {
        for (int k = 0; k < 20; ++k) {
          boost::asio::co_spawn(gw.io, gw.limiter->check(req),
                                [&](std::exception_ptr, RateLimitDecision d) {
                                  ++done;
                                  if (d.allowed) allowed.fetch_add(1);
                                });
        }
        const auto until = Clock::now() + 20s;
        while (done < sent + 20 && Clock::now() < until) gw.io.run_one_for(50ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  // Never more than the bucket plus its refill (1,200 per hour); at most the three instances'
  // unspent leases (12 each) fewer.
  EXPECT_LE(allowed.load(), 1200 + static_cast<int>(std::ceil(elapsed * 1200.0 / 3600.0)) + 1);
  EXPECT_GE(allowed.load(), 1200 - kInstances * 12);
}

// ---- graceful shutdown gives leased tokens back ----

// A global bucket of 100,000 tokens that refills one token a day: what Redis holds is what was
// taken from it (leases at 1 % are up to 1,000 tokens).
constexpr double kSlowCapacity = 100'000;

std::shared_ptr<const RuleTable> slow_global_rule() {
  return RuleTable::build({{"slow-global", LimitType::kGlobal, "", 1, 86'400, 100'000u, true}});
}

const std::string& slow_global_key() {
  static const std::string key = RedisBucketScript::key("slow-global", "global");
  return key;
}

// Runs `io` until `done` holds; bounded so that a hang fails the test instead of blocking it.
template <typename F>
bool run_until(boost::asio::io_context& io, F done) {
  if (io.stopped()) io.restart();
  const auto until = Clock::now() + 20s;
  while (!done() && Clock::now() < until) io.run_one_for(50ms);
  return done();
}

// shut_down() on the limiter's loop; true once its callback ran. Afterwards the loop must run
// out of work by itself (the Redis connection is closed), as a worker loop does at shutdown.
bool shut_down(Instance& gw) {
  bool stopped = false;
  boost::asio::post(gw.io, [&] { gw.limiter->shut_down([&] { stopped = true; }); });
  if (!run_until(gw.io, [&] { return stopped; })) return false;
  gw.io.run_for(20s);
  return gw.io.stopped();
}

// Spends `n` tokens one check after another, so the worker leases tokens of the bucket.
void spend_sequentially(Instance& gw, int n) {
  const auto req = request(nullptr, "198.51.100.1");
  for (int i = 0; i < n; ++i) {
    const auto d = gw.check(req);
    ASSERT_TRUE(d.allowed) << i;
    ASSERT_EQ(d.source, DecisionSource::kRedis) << i;
  }
}

TEST_F(RedisLimiterTest, ShutDownGivesTheUnspentTokensOfLeasesBack) {
  Instance gw(settings());
  gw.service->set_rules(slow_global_rule());
  constexpr int kChecks = 2000;
  spend_sequentially(gw, kChecks);
  if (HasFatalFailure()) return;
  // The worker holds leased tokens: Redis lacks more than the spent ones.
  const double before = redis_tokens(*server_, slow_global_key());
  ASSERT_LT(before, kSlowCapacity - kChecks - 1) << "no lease held: nothing to give back";

  ASSERT_TRUE(shut_down(gw)) << "shutdown did not finish, or left the loop running";
  // Every token but the spent ones is back in Redis.
  EXPECT_NEAR(redis_tokens(*server_, slow_global_key()), kSlowCapacity - kChecks, 0.5);
}

TEST_F(RedisLimiterTest, ShutDownGivesBackGrantsStillOnTheirWay) {
  Instance gw(settings());
  gw.service->set_rules(slow_global_rule());
  spend_sequentially(gw, 2000);
  if (HasFatalFailure()) return;
  int allowed = 2000;
  // More concurrent checks than a lease holds (1,000 at most): the first ones spend what the
  // worker holds, the rest go to Redis and ask for a new lease. The shutdown starts before any
  // of them is answered, so the grant lands after it and must go straight back.
  constexpr int kConcurrent = 1200;
  int done = 0;
  const auto req = request(nullptr, "198.51.100.1");
  for (int i = 0; i < kConcurrent; ++i) {
    boost::asio::co_spawn(gw.io, gw.limiter->check(req),
                          [&](std::exception_ptr e, RateLimitDecision d) {
                            ++done;
                            EXPECT_FALSE(e);
                            EXPECT_EQ(d.source, DecisionSource::kRedis);
                            if (d.allowed && d.source == DecisionSource::kRedis) ++allowed;
                          });
  }
  ASSERT_TRUE(shut_down(gw)) << "shutdown did not finish, or left the loop running";
  ASSERT_EQ(done, kConcurrent);
  EXPECT_EQ(allowed, 2000 + kConcurrent);
  EXPECT_NEAR(redis_tokens(*server_, slow_global_key()), kSlowCapacity - allowed, 0.5);
}

TEST_F(RedisLimiterTest, ShutDownEndsWhenRedisCannotTakeTheTokensBack) {
  // A paused server accepts and never answers: only the shutdown deadline ends the return. A
  // killed one refuses the reconnect: the return fails at once.
  for (const bool paused : {true, false}) {
    SCOPED_TRACE(paused ? "redis paused" : "redis killed");
    if (!server_->running()) server_->start();
    server_->cli({"DEL", slow_global_key()});
    Instance gw(settings());
    gw.service->set_rules(slow_global_rule());
    spend_sequentially(gw, 2000);
    if (HasFatalFailure()) return;
    ASSERT_LT(redis_tokens(*server_, slow_global_key()), kSlowCapacity - 2000 - 1);
    if (paused) {
      server_->pause();
    } else {
      server_->stop();
    }
    const bool finished = shut_down(gw);
    if (paused) server_->resume();
    EXPECT_TRUE(finished) << "shutdown did not finish, or left the loop running";
  }
}

class FailureModeTest : public RedisLimiterTest,
                        public ::testing::WithParamInterface<FailureMode> {};

TEST_P(FailureModeTest, RedisStoppedThenRestarted) {
  auto s = settings();
  s.failure_mode = GetParam();
  s.expected_replicas = 2;
  Instance gw(s);
  Instance other(s);  // a second replica, to see that limiting is shared again afterwards
  const auto r = route("GET /r", 10);
  const auto req = request(&r, "198.51.100.1");
  ASSERT_EQ(gw.check(req).source, DecisionSource::kRedis);

  server_->stop();
  std::vector<RateLimitDecision> decisions;
  for (int i = 0; i < 12; ++i) decisions.push_back(gw.check(req));
  EXPECT_TRUE(gw.service->degraded());
  int allowed = 0;
  for (const auto& d : decisions) {
    allowed += d.allowed ? 1 : 0;
    switch (GetParam()) {
      case FailureMode::kLocal:
        EXPECT_EQ(d.source, DecisionSource::kFallbackLocal);
        EXPECT_EQ(d.limit, 5u);  // 10 per minute shared by 2 expected replicas
        break;
      case FailureMode::kOpen:
        EXPECT_EQ(d.source, DecisionSource::kFailOpen);
        EXPECT_TRUE(d.allowed);
        EXPECT_FALSE(d.state_known);
        break;
      case FailureMode::kClosed:
        EXPECT_EQ(d.source, DecisionSource::kFailClosed);
        EXPECT_FALSE(d.allowed);
        EXPECT_GE(d.retry_after_seconds, 1u);
        break;
    }
  }
  if (GetParam() == FailureMode::kLocal) {
    EXPECT_EQ(allowed, 5);
  }

  server_->start();  // empty: the restart lost every bucket
  ASSERT_TRUE(gw.wait_for_source(req, DecisionSource::kRedis));
  EXPECT_FALSE(gw.service->degraded());
  // Shared again: what this instance consumed is seen by the other one.
  const auto mine = gw.check(req);
  ASSERT_EQ(mine.source, DecisionSource::kRedis);
  ASSERT_TRUE(other.wait_for_source(req, DecisionSource::kRedis));
  const auto theirs = other.check(req);
  EXPECT_EQ(theirs.source, DecisionSource::kRedis);
  EXPECT_LT(theirs.remaining, mine.remaining);
}

INSTANTIATE_TEST_SUITE_P(Modes, FailureModeTest,
                         ::testing::Values(FailureMode::kLocal, FailureMode::kOpen,
                                           FailureMode::kClosed),
                         [](const auto& info) {
                           return std::string(failure_mode_name(info.param));
                         });

TEST_F(RedisLimiterTest, UnresponsiveRedisPastTheTimeoutFallsBack) {
  auto s = settings();
  s.redis_timeout = 200ms;
  s.redis.command_timeout = 200ms;
  s.redis.connect_timeout = 300ms;
  Instance gw(s);
  const auto r = route("GET /r", 10);
  const auto req = request(&r, "198.51.100.1");
  ASSERT_EQ(gw.check(req).source, DecisionSource::kRedis);
  server_->pause();
  const auto d = gw.check(req);
  EXPECT_EQ(d.source, DecisionSource::kFallbackLocal);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(gw.service->degraded());
  server_->resume();
  EXPECT_TRUE(gw.wait_for_source(req, DecisionSource::kRedis));
  EXPECT_FALSE(gw.service->degraded());
}

TEST_F(RedisLimiterTest, RecordsCountEveryDecision) {
  auto sink = std::make_shared<test::CaptureSink>();
  Instance gw(settings(), sink);
  const auto r = route("GET /r", 3);
  for (int i = 0; i < 5; ++i) gw.check(request(&r, "198.51.100.1"));
  gw.service->stop();  // shutdown flush
  ASSERT_EQ(sink->rows.size(), 1u);
  EXPECT_EQ(sink->rows[0].identifier, "ip:198.51.100.1");
  EXPECT_EQ(sink->rows[0].request_count, 5u);
  EXPECT_EQ(sink->rows[0].route_path, "/r");
  EXPECT_EQ(sink->rows[0].window_type, "minute");
}

// ---- cluster ----

class ClusterLimiterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (gatewayd::test::redis_installed()) cluster_ = new gatewayd::test::RedisCluster(3);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (cluster_ == nullptr) GTEST_SKIP() << "redis-server not installed";
  }
  static RateLimitSettings settings() {
    auto s = redis_settings(cluster_->node(0).host(), cluster_->node(0).port());
    s.redis.cluster = true;
    s.redis.cluster_nodes = {s.redis.endpoint};
    return s;
  }
  static gatewayd::test::RedisCluster* cluster_;
};
gatewayd::test::RedisCluster* ClusterLimiterTest::cluster_ = nullptr;

TEST_F(ClusterLimiterTest, RulesInDifferentSlotsAllOrNothingWithRefund) {
  Instance gw(settings());
  gw.service->set_rules(RuleTable::build({
      {"cl-global", LimitType::kGlobal, "", 10, 60, std::nullopt, true},
      {"cl-per-ip", LimitType::kPerIp, "", 1, 60, std::nullopt, true},
  }));
  const auto a = request(nullptr, "198.51.100.1");
  ASSERT_NE(redis_key_slot(RedisBucketScript::key("cl-global", "global")),
            redis_key_slot(RedisBucketScript::key("cl-per-ip", "ip:198.51.100.1")));
  const auto first = gw.check(a);
  ASSERT_TRUE(first.allowed);
  EXPECT_EQ(first.source, DecisionSource::kRedis);
  // Refused by per-ip after the global bucket (another slot, evaluated first) took a token: the
  // token is given back.
  const auto second = gw.check(a);
  EXPECT_FALSE(second.allowed);
  EXPECT_EQ(second.rule, "cl-per-ip");
  spin(gw.io, 100ms);  // let the compensating call finish
  const auto b = gw.check(request(nullptr, "198.51.100.2"));
  ASSERT_TRUE(b.allowed);
  ASSERT_EQ(b.rules.size(), 2u);
  EXPECT_EQ(b.rules[0].remaining, 8u);  // 10 - a's first - b; a's refused request was refunded
}

TEST_F(ClusterLimiterTest, BucketFollowsItsSlotThroughMoved) {
  boost::asio::io_context io;
  auto s = settings();
  auto service = std::make_shared<RateLimitService>(s, nullptr);
  auto client = RedisClient::create(io.get_executor(), s.redis);
  auto limiter = RateLimiter::create(service, io.get_executor(), client);
  const auto r = route("GET /moving", 10);
  const auto req = request(&r, "198.51.100.9");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(run(io, limiter->check(req)).allowed);

  const auto slot = redis_key_slot(RedisBucketScript::key("GET /moving", "ip:198.51.100.9"));
  const auto owner = cluster_->owner_of(slot);
  const auto redirects = client->redirects();
  cluster_->move_slot(slot, (owner + 1) % cluster_->size());

  const auto d = run(io, limiter->check(req));
  EXPECT_EQ(d.source, DecisionSource::kRedis);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 6u);  // the bucket moved with its slot
  EXPECT_GT(client->redirects(), redirects);
  client->stop();
}

}  // namespace
}  // namespace gatewayd::ratelimit
