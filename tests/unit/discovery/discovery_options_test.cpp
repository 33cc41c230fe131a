#include "discovery/discovery_options.hpp"

#include <gtest/gtest.h>

#include "gatewayd/settings.hpp"

namespace gatewayd::discovery {
namespace {

TEST(DiscoveryOptions, DefaultsFollowTheSettingsTable) {
  Settings s;
  const auto o = discovery_options_from_settings(s);
  EXPECT_EQ(o.type, "static");
  EXPECT_EQ(o.startup_wait, std::chrono::milliseconds(5000));
  EXPECT_TRUE(o.fallback_static);
  EXPECT_EQ(o.consul.agent.host, "localhost");
  EXPECT_EQ(o.consul.agent.port, 8500);
  ASSERT_EQ(o.nacos.servers.size(), 1u);
  EXPECT_EQ(o.nacos.servers[0].port, 8848);
  EXPECT_EQ(o.nacos.namespace_id, "public");
  EXPECT_EQ(o.nacos.group, "DEFAULT_GROUP");
  EXPECT_EQ(o.nacos.api_version, 1);
  ASSERT_EQ(o.etcd.endpoints.size(), 1u);
  EXPECT_EQ(o.etcd.endpoints[0].port, 2379);
  EXPECT_EQ(o.etcd.prefix, "/gatewayd/services/");
  EXPECT_FALSE(o.registration.enabled);
  EXPECT_EQ(o.registration.port, 8001);
}

TEST(DiscoveryOptions, ReadsEveryVariable) {
  Settings s;
  s.port = 9000;
  s.cluster_name = "edge";
  s.node_id = "n7";
  s.raw = {{"SERVICE_DISCOVERY_TYPE", "consul"},
           {"DISCOVERY_SERVICE_TYPES", "legacy=static, reports=etcd"},
           {"DISCOVERY_STARTUP_WAIT_MS", "1500"},
           {"DISCOVERY_FALLBACK_STATIC", "false"},
           {"DISCOVERY_SELF_REGISTER", "true"},
           {"DISCOVERY_SELF_ADDRESS", "10.1.2.3"},
           {"CONSUL_HOST", "consul.internal"},
           {"CONSUL_PORT", "8600"},
           {"CONSUL_TOKEN", "secret-token"},
           {"CONSUL_WAIT_SECONDS", "30"},
           {"CONSUL_MIN_INTERVAL_MS", "250"},
           {"NACOS_SERVER_ADDRESSES", "n1:8848, http://n2:9848"},
           {"NACOS_NAMESPACE", "dev"},
           {"NACOS_GROUP", "G"},
           {"NACOS_USERNAME", "nacos"},
           {"NACOS_PASSWORD", "pw"},
           {"NACOS_API_VERSION", "v2"},
           {"ETCD_ENDPOINTS", "http://e1:2379,http://e2:22379"},
           {"ETCD_PREFIX", "/svc/"}};
  const auto o = discovery_options_from_settings(s);
  EXPECT_EQ(o.type, "consul");
  EXPECT_EQ(o.type_of("legacy"), "static");
  EXPECT_EQ(o.type_of("reports"), "etcd");
  EXPECT_EQ(o.type_of("orders"), "consul");
  EXPECT_EQ(o.startup_wait, std::chrono::milliseconds(1500));
  EXPECT_FALSE(o.fallback_static);
  EXPECT_EQ(o.consul.agent.host, "consul.internal");
  EXPECT_EQ(o.consul.agent.port, 8600);
  EXPECT_EQ(o.consul.token, "secret-token");
  EXPECT_EQ(o.consul.wait, std::chrono::seconds(30));
  EXPECT_EQ(o.consul.min_interval, std::chrono::milliseconds(250));
  ASSERT_EQ(o.nacos.servers.size(), 2u);
  EXPECT_EQ(o.nacos.servers[1].host, "n2");
  EXPECT_EQ(o.nacos.servers[1].port, 9848);
  EXPECT_EQ(o.nacos.namespace_id, "dev");
  EXPECT_EQ(o.nacos.username, "nacos");
  EXPECT_EQ(o.nacos.api_version, 2);
  ASSERT_EQ(o.etcd.endpoints.size(), 2u);
  EXPECT_EQ(o.etcd.endpoints[1].port, 22379);
  EXPECT_EQ(o.etcd.prefix, "/svc/");
  EXPECT_TRUE(o.registration.enabled);
  EXPECT_EQ(o.registration.address, "10.1.2.3");
  EXPECT_EQ(o.registration.port, 9000);
  EXPECT_EQ(o.registration.service_name, "edge");
  EXPECT_EQ(o.registration.instance_id, "edge-n7-9000");
}

TEST(DiscoveryOptions, MalformedValuesNameTheVariable) {
  const auto error_of = [](std::map<std::string, std::string> raw) -> std::string {
    Settings s;
    s.raw = std::move(raw);
    try {
      discovery_options_from_settings(s);
    } catch (const SettingsError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of({{"NACOS_API_VERSION", "v3"}}).find("NACOS_API_VERSION"), std::string::npos);
  EXPECT_NE(
      error_of({{"DISCOVERY_SERVICE_TYPES", "orders=zookeeper"}}).find("DISCOVERY_SERVICE_TYPES"),
      std::string::npos);
  EXPECT_NE(error_of({{"DISCOVERY_SERVICE_TYPES", "orders"}}).find("service=type"),
            std::string::npos);
  EXPECT_NE(error_of({{"ETCD_ENDPOINTS", "https://e1:2379"}}).find("ETCD_ENDPOINTS"),
            std::string::npos);
  EXPECT_NE(error_of({{"CONSUL_WAIT_SECONDS", "3600"}}).find("CONSUL_WAIT_SECONDS"),
            std::string::npos);
  EXPECT_NE(error_of({{"CONSUL_MIN_INTERVAL_MS", "soon"}}).find("CONSUL_MIN_INTERVAL_MS"),
            std::string::npos);
}

}  // namespace
}  // namespace gatewayd::discovery
