// The Nacos provider against the fake Nacos server, with the v1 and the v2 open API.
#include "discovery/nacos_provider.hpp"

#include <gtest/gtest.h>

#include "discovery_test_util.hpp"
#include "support/fake_nacos.hpp"
#include "support/free_port.hpp"

namespace gatewayd::discovery {
namespace {

using testing::ChangeWaiter;
using testing::ControlThread;
using testing::eventually;

test::NacosInstance instance(std::string ip, std::uint16_t port, double weight = 1.0) {
  test::NacosInstance i;
  i.service = "orders";
  i.ip = std::move(ip);
  i.port = port;
  i.weight = weight;
  return i;
}

class NacosProviderTest : public ::testing::TestWithParam<int> {
 protected:
  NacosProviderTest() { nacos_.set_cache_millis(30); }

  NacosOptions options() {
    NacosOptions o;
    o.servers = {{"127.0.0.1", nacos_.port()}};
    o.api_version = GetParam();
    o.poll_min = std::chrono::milliseconds(10);
    o.poll_max = std::chrono::milliseconds(1000);
    o.backoff = testing::quick_backoff();
    return o;
  }
  ServiceConfig service(const std::string& name = "orders") {
    ServiceConfig s;
    s.name = name;
    return s;
  }
  const DiscoveredEndpoint* find(const std::string& id) {
    return testing::find_endpoint(registry_.current("orders"), id);
  }
  std::string list_path() const {
    return GetParam() == 2 ? "/nacos/v2/ns/instance/list" : "/nacos/v1/ns/instance/list";
  }

  test::FakeNacos nacos_;
  metrics::Registry metrics_;
  DiscoveryRegistry registry_{metrics_};
  ChangeWaiter changes_{registry_};
  ControlThread control_;
};

TEST_P(NacosProviderTest, FollowsInstances) {
  nacos_.upsert(instance("10.0.0.1", 8001));
  NacosProvider provider(control_.executor(), registry_, options());
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") != nullptr; }));
  EXPECT_EQ(registry_.current("orders")->source(), "nacos");
  EXPECT_GT(nacos_.list_calls(list_path()), 0u);
  const auto params = nacos_.last_params(list_path());
  EXPECT_EQ(params.at("serviceName"), "orders");
  EXPECT_EQ(params.at("namespaceId"), "public");
  EXPECT_EQ(params.at("groupName"), "DEFAULT_GROUP");
  EXPECT_EQ(params.at("healthyOnly"), "false");

  nacos_.upsert(instance("10.0.0.2", 8002, 3.0));
  ASSERT_TRUE(changes_.wait_for([&] {
    const auto* e = find("10.0.0.2:8002");
    return e && e->weight == 3;
  }));

  nacos_.set_weight("orders", "10.0.0.2", 8002, 5.0);
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.2:8002")->weight == 5; }));

  // Unhealthy: still listed (Nacos may hand them out), but not pickable.
  nacos_.set_healthy("orders", "10.0.0.1", 8001, false);
  ASSERT_TRUE(changes_.wait_for([&] { return !find("10.0.0.1:8001")->healthy; }));
  EXPECT_FALSE(find("10.0.0.1:8001")->pickable());

  // Weight 0: draining.
  nacos_.set_weight("orders", "10.0.0.2", 8002, 0.0);
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.2:8002")->weight == 0; }));
  EXPECT_EQ(registry_.current("orders")->pickable_count(), 0u);

  // Disabled: gone from the set.
  nacos_.set_enabled("orders", "10.0.0.2", 8002, false);
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.2:8002") == nullptr; }));

  nacos_.remove("orders", "10.0.0.1", 8001);
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders")->empty(); }));
  EXPECT_TRUE(registry_.status().ok()) << "an empty answer is an answer, not an error";
}

TEST_P(NacosProviderTest, PollsAtTheServersCacheMillis) {
  nacos_.set_cache_millis(60'000);
  nacos_.upsert(instance("10.0.0.1", 8001));
  auto o = options();
  o.poll_max = std::chrono::minutes(5);
  NacosProvider slow(control_.executor(), registry_, o);
  slow.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") != nullptr; }));
  EXPECT_EQ(nacos_.list_calls_of("orders"), 1u);

  // With a short cacheMillis another service is polled many times meanwhile; the first one
  // still waits out the minute the server asked for.
  nacos_.set_cache_millis(20);
  NacosProvider fast(control_.executor(), registry_, o);
  fast.watch(service("payments"));
  ASSERT_TRUE(eventually([&] { return nacos_.list_calls_of("payments") >= 10; }));
  EXPECT_EQ(nacos_.list_calls_of("orders"), 1u);
}

TEST_P(NacosProviderTest, LogsInAndPassesTheToken) {
  nacos_.set_credentials("nacos", "pw");
  nacos_.upsert(instance("10.0.0.1", 8001));
  auto o = options();
  o.username = "nacos";
  o.password = "pw";
  NacosProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") != nullptr; }));
  EXPECT_EQ(nacos_.logins(), 1u);
  EXPECT_EQ(nacos_.last_params("/nacos/v1/auth/login").at("username"), "nacos");
  EXPECT_FALSE(nacos_.last_params(list_path()).at("accessToken").empty());

  // The server forgets its tokens: the provider logs in again and carries on.
  nacos_.revoke_tokens();
  nacos_.upsert(instance("10.0.0.2", 8002));
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.2:8002") != nullptr; }));
  EXPECT_GE(nacos_.logins(), 2u);
  EXPECT_GE(nacos_.forbidden_calls(), 1u);
}

TEST_P(NacosProviderTest, RefreshesTheTokenBeforeItExpires) {
  nacos_.set_credentials("nacos", "pw");
  nacos_.set_token_ttl(std::chrono::seconds(2));
  nacos_.upsert(instance("10.0.0.1", 8001));
  auto o = options();
  o.username = "nacos";
  o.password = "pw";
  NacosProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") != nullptr; }));
  ASSERT_TRUE(eventually([&] { return nacos_.logins() >= 2; }));
  EXPECT_EQ(nacos_.forbidden_calls(), 0u) << "the token is renewed before the server refuses it";
}

TEST_P(NacosProviderTest, WrongCredentialsAreAnErrorNotAnEmptyService) {
  nacos_.set_credentials("nacos", "pw");
  auto o = options();
  o.username = "nacos";
  o.password = "wrong";
  NacosProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(eventually([&] { return registry_.error_count("orders") >= 2; }));
  EXPECT_EQ(registry_.current("orders"), nullptr);
  EXPECT_EQ(registry_.status().detail.find("wrong"), std::string::npos)
      << "the password never shows up in the status";
}

TEST_P(NacosProviderTest, KeepsTheLastSetWhileDownAndFailsOverToTheNextServer) {
  nacos_.upsert(instance("10.0.0.1", 8001));
  auto o = options();
  // A dead first server: the provider moves on to the fake.
  o.servers.insert(o.servers.begin(), HttpEndpoint{"127.0.0.1", test::free_port()});
  NacosProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") != nullptr; }));
  const auto before = registry_.current("orders");

  nacos_.stop();
  const auto errors = [&] {
    return metrics_
        .counter("gatewayd_discovery_errors_total", "",
                 {{"provider", "nacos"}, {"service", "orders"}})
        .value();
  };
  const auto errors_before = errors();
  ASSERT_TRUE(eventually([&] { return errors() >= errors_before + 3; }));
  EXPECT_EQ(registry_.current("orders"), before);
  EXPECT_FALSE(registry_.status().ok());

  nacos_.upsert(instance("10.0.0.3", 8003));
  nacos_.start();
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.3:8003") != nullptr; }));
  ASSERT_TRUE(eventually([&] { return registry_.status().ok(); }));
}

INSTANTIATE_TEST_SUITE_P(ApiVersions, NacosProviderTest, ::testing::Values(1, 2),
                         [](const auto& info) { return "v" + std::to_string(info.param); });

}  // namespace
}  // namespace gatewayd::discovery
