// The Consul provider against the fake Consul agent (real HTTP, blocking queries).
#include "discovery/consul_provider.hpp"

#include <gtest/gtest.h>

#include <future>

#include "discovery_test_util.hpp"
#include "support/fake_consul.hpp"
#include "support/free_port.hpp"

namespace gatewayd::discovery {
namespace {

using testing::ChangeWaiter;
using testing::ControlThread;
using testing::eventually;

test::ConsulInstance instance(std::string id, std::uint16_t port, std::string address = "") {
  test::ConsulInstance i;
  i.id = std::move(id);
  i.service = "orders";
  i.address = std::move(address);
  i.port = port;
  return i;
}

class ConsulProviderTest : public ::testing::Test {
 protected:
  ConsulOptions options() {
    ConsulOptions o;
    o.agent = {"127.0.0.1", consul_.port()};
    o.wait = std::chrono::seconds(10);
    o.min_interval = std::chrono::milliseconds(10);
    o.backoff = testing::quick_backoff();
    return o;
  }
  ServiceConfig service(const std::string& name = "orders") {
    ServiceConfig s;
    s.name = name;
    return s;
  }
  std::uint64_t errors(const std::string& service = "orders") {
    return metrics_
        .counter("gatewayd_discovery_errors_total", "",
                 {{"provider", "consul"}, {"service", service}})
        .value();
  }

  test::FakeConsul consul_;
  metrics::Registry metrics_;
  DiscoveryRegistry registry_{metrics_};
  ChangeWaiter changes_{registry_};
  ControlThread control_;
};

TEST_F(ConsulProviderTest, FollowsAddsRemovesWeightsAndHealth) {
  consul_.upsert(instance("orders-1", 8001, "10.0.0.1"));
  ConsulProvider provider(control_.executor(), registry_, options());
  provider.watch(service());

  ASSERT_TRUE(changes_.wait_for([&] {
    const auto set = registry_.current("orders");
    return set && set->size() == 1;
  }));
  EXPECT_EQ(registry_.current("orders")->source(), "consul");
  EXPECT_EQ(registry_.current("orders")->endpoints()[0].instance_id, "orders-1");

  // Added (its Service.Address is empty, so the node address is used).
  auto second = instance("orders-2", 8002);
  second.node_address = "10.0.0.2";
  consul_.upsert(second);
  ASSERT_TRUE(changes_.wait_for(
      [&] { return testing::find_endpoint(registry_.current("orders"), "10.0.0.2:8002"); }));

  // Re-weighted.
  consul_.set_weight("orders-1", 7);
  ASSERT_TRUE(changes_.wait_for([&] {
    const auto* e = testing::find_endpoint(registry_.current("orders"), "10.0.0.1:8001");
    return e && e->weight == 7;
  }));

  // Marked unhealthy: passing=true leaves it out.
  consul_.set_status("orders-2", "critical");
  ASSERT_TRUE(changes_.wait_for([&] {
    return registry_.current("orders")->size() == 1 &&
           !testing::find_endpoint(registry_.current("orders"), "10.0.0.2:8002");
  }));
  consul_.set_status("orders-2", "passing");
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders")->size() == 2; }));

  // Removed.
  consul_.remove("orders-1");
  ASSERT_TRUE(changes_.wait_for([&] {
    const auto set = registry_.current("orders");
    return set->size() == 1 && set->endpoints()[0].id == "10.0.0.2:8002";
  }));
  EXPECT_TRUE(changes_.wait_for_change([](const DiscoveryChange& c) {
    return c.removed == std::vector<std::string>{"10.0.0.1:8001"};
  }));
  EXPECT_EQ(errors(), 0u);
  EXPECT_TRUE(registry_.status().ok());
}

TEST_F(ConsulProviderTest, UsesBlockingQueriesWithTheLastIndex) {
  consul_.upsert(instance("orders-1", 8001, "10.0.0.1"));
  ConsulProvider provider(control_.executor(), registry_, options());
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders") != nullptr; }));
  // The second call is held by the agent: a blocking query with the index of the first answer.
  ASSERT_TRUE(eventually([&] { return consul_.held_queries() == 1; }));
  const auto seen = consul_.indexes_seen("orders");
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[0], 0u);
  EXPECT_EQ(seen[1], consul_.index_of("orders"));
  const auto calls = consul_.health_calls("orders");

  consul_.upsert(instance("orders-2", 8002, "10.0.0.2"));
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders")->size() == 2; }));
  // One change costs one answer, not a polling storm.
  ASSERT_TRUE(eventually([&] { return consul_.held_queries() == 1; }));
  EXPECT_LE(consul_.health_calls("orders"), calls + 2);
}

TEST_F(ConsulProviderTest, ResetsTheIndexWhenItGoesBackwards) {
  consul_.upsert(instance("orders-1", 8001, "10.0.0.1"));
  auto o = options();
  o.wait = std::chrono::milliseconds(300);
  ConsulProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders") != nullptr; }));
  ASSERT_TRUE(eventually([&] { return consul_.held_queries() == 1; }));

  // The agent's state was rebuilt: its index is now far below the client's.
  consul_.reset_indexes(3);
  ASSERT_TRUE(eventually([&] {
    const auto seen = consul_.indexes_seen("orders");
    // ... then a plain query (index 0) and blocking again from the new low index.
    for (std::size_t i = 2; i < seen.size(); ++i) {
      if (seen[i - 1] == 0 && seen[i] == 3) return true;
    }
    return false;
  }));
  consul_.upsert(instance("orders-2", 8002, "10.0.0.2"));
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders")->size() == 2; }));
}

TEST_F(ConsulProviderTest, SendsTheAclToken) {
  consul_.set_token("s3cr3t");
  consul_.upsert(instance("orders-1", 8001, "10.0.0.1"));
  auto o = options();
  o.token = "wrong";
  {
    DiscoveryRegistry registry(metrics_);
    ConsulProvider provider(control_.executor(), registry, o);
    provider.watch(service());
    ASSERT_TRUE(eventually([&] { return registry.error_count("orders") >= 2; }));
    EXPECT_EQ(registry.current("orders"), nullptr);
    EXPECT_NE(registry.status().detail.find("HTTP 403"), std::string::npos);
  }
  o.token = "s3cr3t";
  ConsulProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders") != nullptr; }));
}

TEST_F(ConsulProviderTest, KeepsTheLastSetWhileTheAgentIsDownAndResumes) {
  consul_.upsert(instance("orders-1", 8001, "10.0.0.1"));
  ConsulProvider provider(control_.executor(), registry_, options());
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders") != nullptr; }));
  const auto before = registry_.current("orders");

  consul_.stop();
  ASSERT_TRUE(eventually([&] { return errors() >= 3; }));
  EXPECT_EQ(registry_.current("orders"), before) << "a down backend never empties a service";
  const auto status = registry_.status();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.detail.find("orders: consul failing"), std::string::npos);

  // Changes made while the listener was down show up once it is back.
  consul_.upsert(instance("orders-2", 8002, "10.0.0.2"));
  consul_.start();
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders")->size() == 2; }));
  ASSERT_TRUE(eventually([&] { return registry_.status().ok(); }));
  consul_.remove("orders-1");
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("orders")->size() == 1; }));
}

TEST_F(ConsulProviderTest, StopCancelsAHeldQuery) {
  auto o = options();
  o.wait = std::chrono::minutes(5);
  auto provider = std::make_unique<ConsulProvider>(control_.executor(), registry_, o);
  provider->watch(service());
  ASSERT_TRUE(eventually([&] { return consul_.held_queries() == 1; }));
  auto stopped = std::async(std::launch::async, [&] { provider.reset(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(8)), std::future_status::ready)
      << "stop must not wait for the long poll to end";
}

TEST_F(ConsulProviderTest, WatchesServicesIndependently) {
  consul_.upsert(instance("orders-1", 8001, "10.0.0.1"));
  auto pay = instance("pay-1", 9001, "10.0.1.1");
  pay.service = "payments";
  consul_.upsert(pay);
  ConsulProvider provider(control_.executor(), registry_, options());
  provider.watch(service("orders"));
  provider.watch(service("payments"));
  provider.watch(service("payments"));  // idempotent
  ASSERT_TRUE(changes_.wait_for(
      [&] { return registry_.current("orders") && registry_.current("payments"); }));
  provider.unwatch("orders");
  consul_.upsert(instance("orders-2", 8002, "10.0.0.2"));
  pay.id = "pay-2";
  pay.port = 9002;
  consul_.upsert(pay);
  ASSERT_TRUE(changes_.wait_for([&] { return registry_.current("payments")->size() == 2; }));
  EXPECT_EQ(registry_.current("orders")->size(), 1u) << "an unwatched service is not followed";
}

}  // namespace
}  // namespace gatewayd::discovery
