// The per-worker limiter with local buckets: rule selection, identities, headers, and the same
// limit whatever the number of workers.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "filters/rate_limit/rate_limiter.hpp"
#include "gatewayd/config.hpp"
#include "limiter_test_util.hpp"

namespace gatewayd::ratelimit {
namespace {

namespace ip = boost::asio::ip;
using test::run;

RateLimitSettings local_settings() {
  RateLimitSettings s;
  s.backend = Backend::kLocal;
  s.default_per_minute = 0;
  s.trusted_proxies.push_back(*Cidr::parse("10.0.0.0/8"));
  return s;
}

RouteConfig route(std::string name, std::string path, std::optional<std::uint32_t> limit) {
  RouteConfig r;
  r.name = std::move(name);
  r.path = std::move(path);
  r.service = "svc";
  r.rate_limit = limit;
  return r;
}

RateLimitRequest request(const RouteConfig* r, std::string_view path, const char* peer) {
  RateLimitRequest req;
  req.route = r;
  req.path = path;
  req.peer = ip::make_address(peer);
  return req;
}

class LocalLimiterTest : public ::testing::Test {
 protected:
  std::shared_ptr<RateLimiter> make(RateLimitSettings s = local_settings(),
                                    std::shared_ptr<RecordSink> sink = nullptr) {
    service_ = std::make_shared<RateLimitService>(std::move(s), std::move(sink));
    return RateLimiter::create(service_, io_.get_executor());
  }
  boost::asio::io_context io_;
  std::shared_ptr<RateLimitService> service_;
};

TEST_F(LocalLimiterTest, RouteLimitPerCallerWithHeaders) {
  auto limiter = make();
  const auto projects = route("GET /projects", "/projects", 3);
  const auto req = request(&projects, "/projects", "198.51.100.1");
  for (int i = 0; i < 3; ++i) {
    const auto d = run(io_, limiter->check(req));
    EXPECT_TRUE(d.allowed);
    EXPECT_TRUE(d.limited);
    EXPECT_EQ(d.limit, 3u);
    EXPECT_EQ(d.remaining, static_cast<std::uint64_t>(2 - i));
    EXPECT_EQ(d.rule, "GET /projects");
    EXPECT_EQ(d.source, DecisionSource::kLocal);
  }
  const auto refused = run(io_, limiter->check(req));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 20u);  // 3 per minute: one token every 20 s
  EXPECT_EQ(refused.reset_seconds, 60u);
  // Another caller has its own bucket.
  EXPECT_TRUE(run(io_, limiter->check(request(&projects, "/projects", "198.51.100.2"))).allowed);
}

TEST_F(LocalLimiterTest, NoRuleMeansNotLimitedUnlessThereIsADefault) {
  auto limiter = make();
  const auto open = route("GET /open", "/open", std::nullopt);
  const auto d = run(io_, limiter->check(request(&open, "/open", "198.51.100.1")));
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.limited);

  auto s = local_settings();
  s.default_per_minute = 2;
  auto with_default = make(s);
  const auto req = request(&open, "/open", "198.51.100.1");
  EXPECT_TRUE(run(io_, with_default->check(req)).allowed);
  const auto second = run(io_, with_default->check(req));
  EXPECT_EQ(second.rule, "default");
  EXPECT_FALSE(run(io_, with_default->check(req)).allowed);
  // The gateway's own routes are not limited by the default.
  auto health = route("GET /health", "/health", std::nullopt);
  health.service = "internal";
  EXPECT_FALSE(run(io_, with_default->check(request(&health, "/health", "198.51.100.1"))).limited);
}

TEST_F(LocalLimiterTest, SpoofedForwardedForDoesNotEscapeThePerIpLimit) {
  auto limiter = make();
  service_->set_rules(
      RuleTable::build({{"per-ip", LimitType::kPerIp, "/api/**", 2, 60, std::nullopt, true}}));
  auto req = request(nullptr, "/api/x", "203.0.113.9");  // untrusted peer
  for (int i = 0; i < 2; ++i) {
    req.x_forwarded_for = i == 0 ? "1.1.1.1" : "2.2.2.2";
    EXPECT_TRUE(run(io_, limiter->check(req)).allowed);
  }
  req.x_forwarded_for = "3.3.3.3";
  EXPECT_FALSE(run(io_, limiter->check(req)).allowed);

  // Behind a trusted proxy the forwarded client address is the identity.
  auto proxied = request(nullptr, "/api/x", "10.0.0.2");
  proxied.x_forwarded_for = "7.7.7.7, 198.51.100.77";
  EXPECT_TRUE(run(io_, limiter->check(proxied)).allowed);
  EXPECT_TRUE(run(io_, limiter->check(proxied)).allowed);
  EXPECT_FALSE(run(io_, limiter->check(proxied)).allowed);
  proxied.x_forwarded_for = "198.51.100.78";
  EXPECT_TRUE(run(io_, limiter->check(proxied)).allowed);
}

TEST_F(LocalLimiterTest, PerUserUsesTheVerifiedSubjectAndFallsBackToIp) {
  auto limiter = make();
  service_->set_rules(
      RuleTable::build({{"per-user", LimitType::kPerUser, "", 1, 60, std::nullopt, true}}));
  auto alice = request(nullptr, "/x", "198.51.100.1");
  alice.subject = "alice";
  auto bob = alice;
  bob.subject = "bob";
  EXPECT_TRUE(run(io_, limiter->check(alice)).allowed);
  EXPECT_FALSE(run(io_, limiter->check(alice)).allowed);
  EXPECT_TRUE(run(io_, limiter->check(bob)).allowed);  // same IP, different user
  auto anonymous = request(nullptr, "/x", "198.51.100.1");
  EXPECT_TRUE(run(io_, limiter->check(anonymous)).allowed);  // IP bucket, not alice's
  EXPECT_FALSE(run(io_, limiter->check(anonymous)).allowed);
}

TEST_F(LocalLimiterTest, SeveralRulesAllMustAllowAndARefusalChargesNone) {
  auto sink = std::make_shared<test::CaptureSink>();
  auto limiter = make(local_settings(), sink);
  service_->set_rules(RuleTable::build({
      {"global", LimitType::kGlobal, "", 5, 60, std::nullopt, true},
      {"per-ip", LimitType::kPerIp, "", 2, 60, std::nullopt, true},
  }));
  const auto a = request(nullptr, "/x", "198.51.100.1");
  const auto b = request(nullptr, "/x", "198.51.100.2");
  EXPECT_TRUE(run(io_, limiter->check(a)).allowed);
  EXPECT_TRUE(run(io_, limiter->check(a)).allowed);
  // a's per-ip bucket is empty: refused, and the global bucket is not charged for it.
  for (int i = 0; i < 10; ++i) {
    const auto d = run(io_, limiter->check(a));
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.rule, "per-ip");
    ASSERT_EQ(d.rules.size(), 2u);
    EXPECT_TRUE(d.rules[0].allowed);
    EXPECT_EQ(d.rules[0].remaining, 3u);
  }
  // So the global bucket still has 3 tokens: b gets 2 (its per-ip limit), then c gets 1.
  EXPECT_TRUE(run(io_, limiter->check(b)).allowed);
  const auto d = run(io_, limiter->check(b));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "per-ip");  // 0 left there, 1 left in the global bucket
  const auto c = request(nullptr, "/x", "198.51.100.3");
  const auto last = run(io_, limiter->check(c));
  EXPECT_TRUE(last.allowed);
  EXPECT_EQ(last.rule, "global");
  EXPECT_EQ(last.remaining, 0u);
  const auto over = run(io_, limiter->check(request(nullptr, "/x", "198.51.100.4")));
  EXPECT_FALSE(over.allowed);
  EXPECT_EQ(over.rule, "global");

  // Records count every evaluated request once per rule.
  service_->flush_records();
  EXPECT_EQ(sink->total(), 2u * 16u);
}

TEST_F(LocalLimiterTest, ReloadedRulesApplyToLaterRequests) {
  auto limiter = make();
  const auto req = request(nullptr, "/x", "198.51.100.1");
  EXPECT_FALSE(run(io_, limiter->check(req)).limited);
  service_->set_rules(RuleTable::build({{"r", LimitType::kPerIp, "", 1, 60, std::nullopt, true}}));
  EXPECT_TRUE(run(io_, limiter->check(req)).limited);
  EXPECT_FALSE(run(io_, limiter->check(req)).allowed);
  service_->set_rules(nullptr);
  EXPECT_FALSE(run(io_, limiter->check(req)).limited);
}

TEST_F(LocalLimiterTest, ApiKeyOwnLimitIsPerKeyOnTopOfTheOtherRules) {
  auto s = local_settings();
  s.default_per_minute = 1000;
  auto sink = std::make_shared<test::CaptureSink>();
  auto limiter = make(s, sink);
  const auto open = route("GET /open", "/open", std::nullopt);
  auto key_a = request(&open, "/open", "198.51.100.1");
  key_a.subject = "owner";  // the key's owner: per-caller rules would use it
  key_a.api_key_id = "aaaa";
  key_a.api_key_per_minute = 3;
  for (int i = 0; i < 3; ++i) {
    const auto d = run(io_, limiter->check(key_a));
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.rule, "api_key_per_minute");
    EXPECT_EQ(d.limit, 3u);
    EXPECT_EQ(d.window_seconds, 60u);
  }
  const auto refused = run(io_, limiter->check(key_a));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.rule, "api_key_per_minute");
  EXPECT_EQ(refused.retry_after_seconds, 20u);

  // Another key of the same owner, from the same address, has its own bucket.
  auto key_b = key_a;
  key_b.api_key_id = "bbbb";
  EXPECT_TRUE(run(io_, limiter->check(key_b)).allowed);
  // A limit without a verified key id chooses no key bucket: the default applies instead.
  auto no_key = request(&open, "/open", "198.51.100.1");
  no_key.api_key_per_minute = 3;
  const auto d = run(io_, limiter->check(no_key));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, "default");

  // With a route limit too, both apply: the route's per-caller bucket (the owner) is charged
  // by every key of that owner.
  const auto limited = route("GET /limited", "/limited", 2);
  auto c = request(&limited, "/limited", "198.51.100.1");
  c.subject = "someone";
  c.api_key_id = "cccc";
  c.api_key_per_minute = 10;
  EXPECT_TRUE(run(io_, limiter->check(c)).allowed);
  c.api_key_id = "dddd";
  EXPECT_TRUE(run(io_, limiter->check(c)).allowed);
  const auto by_route = run(io_, limiter->check(c));
  EXPECT_FALSE(by_route.allowed);
  EXPECT_EQ(by_route.rule, "GET /limited");
  ASSERT_EQ(by_route.rules.size(), 2u);
  EXPECT_TRUE(by_route.rules[1].allowed);  // the key's own bucket had room

  // The hourly limit is its own bucket and rule.
  auto hourly = request(&open, "/open", "198.51.100.9");
  hourly.api_key_id = "eeee";
  hourly.api_key_per_hour = 1;
  const auto first = run(io_, limiter->check(hourly));
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.rule, "api_key_per_hour");
  EXPECT_EQ(first.window_seconds, 3600u);
  const auto second = run(io_, limiter->check(hourly));
  EXPECT_FALSE(second.allowed);
  EXPECT_EQ(second.retry_after_seconds, 3600u);

  // Records: per key id, under the key rule's window.
  service_->flush_records();
  bool found = false;
  for (const auto& row : sink->rows) {
    if (row.identifier == "key:aaaa" && row.route_path == "api_key") {
      found = true;
      EXPECT_EQ(row.window_type, "minute");
      EXPECT_EQ(row.request_count, 4u);  // three allowed and one refused
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(LocalLimiterTest, DisabledStageLimitsNothing) {
  auto s = local_settings();
  s.enabled = false;
  auto limiter = make(s);
  const auto r = route("r", "/r", 1);
  const auto req = request(&r, "/r", "198.51.100.1");
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(run(io_, limiter->check(req)).limited);
}

TEST_F(LocalLimiterTest, ShutDownWithoutRedisStopsAtOnce) {
  auto limiter = make();
  ASSERT_TRUE(run(io_, limiter->check(request(nullptr, "/a", "198.51.100.1"))).allowed);
  bool stopped = false;
  limiter->shut_down([&] { stopped = true; });
  io_.restart();
  io_.run_for(std::chrono::seconds(20));  // nothing to give back: the callback is the only work
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(io_.stopped());
}

TEST(LocalLimiterWorkers, SameLimitWithOneOrEightWorkers) {
  for (const int workers : {1, 8}) {
    auto service = std::make_shared<RateLimitService>(local_settings(), nullptr);
    const auto r = route("GET /w", "/w", 50);
    std::atomic<int> allowed{0};
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        boost::asio::io_context io;
        auto limiter = RateLimiter::create(service, io.get_executor());
        const auto req = request(&r, "/w", "198.51.100.1");
        for (int i = 0; i < 400 / workers; ++i) {
          if (run(io, limiter->check(req)).allowed) allowed.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    // The 50-token burst plus whatever refilled while the test ran (50 per minute).
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_GE(allowed.load(), 50) << workers << " workers";
    EXPECT_LE(allowed.load(), 50 + static_cast<int>(elapsed * 50.0 / 60.0) + 1)
        << workers << " workers";
  }
}

}  // namespace
}  // namespace gatewayd::ratelimit
