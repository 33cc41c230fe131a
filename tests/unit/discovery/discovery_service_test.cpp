// DiscoveryService: provider selection, start-up fallback to services.yaml, reloads and
// service_instances snapshots.
#include "discovery/discovery_service.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery_test_util.hpp"
#include "support/fake_consul.hpp"
#include "support/free_port.hpp"

namespace gatewayd::discovery {
namespace {

using testing::CapturingSink;
using testing::ChangeWaiter;
using testing::ControlThread;
using testing::eventually;

ServiceConfig static_service(const std::string& name,
                             std::vector<std::pair<std::string, std::uint16_t>> hosts) {
  ServiceConfig s;
  s.name = name;
  for (const auto& [host, port] : hosts) {
    InstanceConfig i;
    i.scheme = "http";
    i.host = host;
    i.port = port;
    i.url = "http://" + host + ":" + std::to_string(port);
    i.id = host + ":" + std::to_string(port);
    s.instances.push_back(i);
  }
  return s;
}

class DiscoveryServiceTest : public ::testing::Test {
 protected:
  DiscoveryOptions options(const std::string& type) {
    DiscoveryOptions o;
    o.type = type;
    o.startup_wait = std::chrono::milliseconds(200);
    o.consul.agent = {"127.0.0.1", consul_.port()};
    o.consul.wait = std::chrono::seconds(10);
    o.consul.min_interval = std::chrono::milliseconds(10);
    o.consul.backoff = testing::quick_backoff();
    return o;
  }

  test::FakeConsul consul_;
  metrics::Registry metrics_;
  DiscoveryRegistry registry_{metrics_};
  ChangeWaiter changes_{registry_};
  CapturingSink sink_;
  ControlThread control_;
};

TEST_F(DiscoveryServiceTest, StaticServicesComeFromTheConfig) {
  DiscoveryService discovery(control_.executor(), registry_, sink_, options("static"));
  std::map<std::string, ServiceConfig, std::less<>> services{
      {"orders", static_service("orders", {{"10.0.0.1", 80}, {"10.0.0.2", 80}})}};
  discovery.set_services(services);
  ASSERT_TRUE(discovery.wait_ready(std::chrono::seconds(5)));
  EXPECT_EQ(registry_.current("orders")->size(), 2u);
  EXPECT_EQ(registry_.current("orders")->source(), "static");
  EXPECT_TRUE(discovery.status().ok());

  // A reload with other instances publishes them; a dropped service is forgotten.
  services["orders"] = static_service("orders", {{"10.0.0.2", 80}});
  services["payments"] = static_service("payments", {{"10.0.1.1", 80}});
  discovery.set_services(services);
  EXPECT_EQ(registry_.current("orders")->size(), 1u);
  EXPECT_EQ(changes_.changes().back().service, "payments");
  services.erase("orders");
  discovery.set_services(services);
  EXPECT_EQ(registry_.current("orders"), nullptr);
  EXPECT_EQ(changes_.changes().back().removed, (std::vector<std::string>{"10.0.0.2:80"}));
}

TEST_F(DiscoveryServiceTest, PerServiceTypesAndFallbackWhileTheBackendIsDown) {
  consul_.stop();
  auto o = options("consul");
  o.service_types["legacy"] = "static";
  DiscoveryService discovery(control_.executor(), registry_, sink_, o);
  discovery.set_services({{"orders", static_service("orders", {{"10.0.0.9", 80}})},
                          {"legacy", static_service("legacy", {{"10.0.5.5", 80}})}});
  EXPECT_EQ(registry_.current("legacy")->source(), "static");

  // Consul does not answer: after the start-up wait the services.yaml instances serve.
  ASSERT_TRUE(discovery.wait_ready(std::chrono::seconds(10)));
  const auto fallback = registry_.current("orders");
  ASSERT_NE(fallback, nullptr);
  EXPECT_EQ(fallback->source(), "static-fallback");
  EXPECT_NE(fallback->find("10.0.0.9:80"), nullptr);
  const auto status = discovery.status();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.detail.find("orders"), std::string::npos);

  // Consul comes up: its instances replace the fallback.
  test::ConsulInstance inst;
  inst.id = "orders-1";
  inst.service = "orders";
  inst.address = "10.0.0.1";
  inst.port = 8001;
  consul_.upsert(inst);
  consul_.start();
  ASSERT_TRUE(changes_.wait_for([&] {
    const auto set = registry_.current("orders");
    return set && set->source() == "consul";
  }));
  EXPECT_EQ(registry_.current("orders")->find("10.0.0.9:80"), nullptr);
  ASSERT_TRUE(eventually([&] { return discovery.status().ok(); }));
}

TEST_F(DiscoveryServiceTest, NoFallbackWhenDisabled) {
  consul_.stop();
  auto o = options("consul");
  o.fallback_static = false;
  DiscoveryService discovery(control_.executor(), registry_, sink_, o);
  discovery.set_services({{"orders", static_service("orders", {{"10.0.0.9", 80}})}});
  EXPECT_FALSE(discovery.wait_ready(std::chrono::milliseconds(600)));
  EXPECT_EQ(registry_.current("orders"), nullptr);
  EXPECT_NE(discovery.status().detail.find("orders"), std::string::npos);
}

TEST_F(DiscoveryServiceTest, SnapshotsInstancesAsRecords) {
  test::ConsulInstance inst;
  inst.id = "orders-1";
  inst.service = "orders";
  inst.address = "10.0.0.1";
  inst.port = 8001;
  inst.weight_passing = 4;
  inst.meta = {{"zone", "z1"}};
  consul_.upsert(inst);
  DiscoveryService discovery(control_.executor(), registry_, sink_, options("consul"));
  auto config = static_service("orders", {});
  config.health_check.enabled = true;
  config.health_check.path = "/healthz";
  config.health_check.interval = std::chrono::seconds(15);
  discovery.set_services({{"orders", config}});
  ASSERT_TRUE(discovery.wait_ready(std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return sink_.instances().size() == 1; }));
  auto records = sink_.instances();
  EXPECT_EQ(records[0].service_name, "orders");
  EXPECT_EQ(records[0].instance_url, "http://10.0.0.1:8001");
  EXPECT_EQ(records[0].instance_id, "orders-1");
  EXPECT_EQ(records[0].weight, 4u);
  EXPECT_TRUE(records[0].is_healthy);
  EXPECT_EQ(records[0].health_check_path, "/healthz");
  EXPECT_EQ(records[0].health_check_interval, 15u);
  const auto meta = nlohmann::json::parse(records[0].metadata_json);
  EXPECT_EQ(meta["provider"], "consul");
  EXPECT_EQ(meta["zone"], "z1");

  // A re-weight writes only that endpoint; a removal marks it gone.
  inst.id = "orders-2";
  inst.address = "10.0.0.2";
  consul_.upsert(inst);
  ASSERT_TRUE(eventually([&] { return sink_.instances().size() == 2; }));
  consul_.remove("orders-1");
  ASSERT_TRUE(eventually([&] { return sink_.instances().size() == 3; }));
  records = sink_.instances();
  EXPECT_EQ(records[1].instance_url, "http://10.0.0.2:8001");
  EXPECT_EQ(records[2].instance_url, "http://10.0.0.1:8001");
  EXPECT_FALSE(records[2].is_healthy);
  EXPECT_EQ(records[2].weight, 0u);
  EXPECT_EQ(nlohmann::json::parse(records[2].metadata_json)["removed"], true);
}

TEST_F(DiscoveryServiceTest, RegistersItselfAndDeregistersOnStop) {
  auto o = options("consul");
  o.registration.enabled = true;
  o.registration.service_name = "gatewayd";
  o.registration.instance_id = "gw-1";
  o.registration.address = "127.0.0.1";
  o.registration.port = 8001;
  DiscoveryService discovery(control_.executor(), registry_, sink_, o);
  discovery.start_registration();
  ASSERT_NE(discovery.registration(), nullptr);
  ASSERT_TRUE(eventually([&] { return discovery.registration()->registered(); }));
  EXPECT_TRUE(consul_.registration("gw-1").has_value());
  discovery.stop();
  EXPECT_FALSE(consul_.registration("gw-1").has_value());
}

}  // namespace
}  // namespace gatewayd::discovery
