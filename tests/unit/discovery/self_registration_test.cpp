// Self-registration of the gateway with the fake Consul agent and the fake Nacos server.
#include <gtest/gtest.h>

#include "discovery/consul_registration.hpp"
#include "discovery/nacos_registration.hpp"
#include "discovery_test_util.hpp"
#include "support/fake_consul.hpp"
#include "support/fake_nacos.hpp"

namespace gatewayd::discovery {
namespace {

using testing::ControlThread;
using testing::eventually;

RegistrationOptions registration() {
  RegistrationOptions reg;
  reg.enabled = true;
  reg.service_name = "gatewayd";
  reg.instance_id = "gatewayd-test-8001";
  reg.address = "127.0.0.1";
  reg.port = 8001;
  reg.metadata = {{"version", "test"}};
  reg.refresh_interval = std::chrono::milliseconds(50);
  reg.heartbeat_interval = std::chrono::milliseconds(50);
  return reg;
}

TEST(ConsulRegistration, RegistersWithAHealthCheckAndDeregistersOnStop) {
  test::FakeConsul consul;
  consul.set_token("tok");
  ControlThread control;
  metrics::Registry metrics;
  ConsulOptions options;
  options.agent = {"127.0.0.1", consul.port()};
  options.token = "tok";
  options.backoff = testing::quick_backoff();
  ConsulRegistration reg(control.executor(), options, registration(), metrics);
  reg.start();
  ASSERT_TRUE(eventually([&] { return reg.registered(); }));
  const auto body = consul.registration("gatewayd-test-8001");
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["Name"], "gatewayd");
  EXPECT_EQ((*body)["Port"], 8001);
  EXPECT_EQ((*body)["Meta"]["version"], "test");
  EXPECT_EQ((*body)["Check"]["HTTP"], "http://127.0.0.1:8001/health");

  EXPECT_TRUE(reg.stop(std::chrono::seconds(5)));
  EXPECT_FALSE(consul.registration("gatewayd-test-8001"));
  EXPECT_EQ(consul.deregistrations(), 1u);
  EXPECT_EQ(consul.forbidden_calls(), 0u);
}

TEST(ConsulRegistration, RetriesUntilTheAgentIsUpAndRegistersAgainWhenForgotten) {
  test::FakeConsul consul;
  consul.stop();
  ControlThread control;
  metrics::Registry metrics;
  ConsulOptions options;
  options.agent = {"127.0.0.1", consul.port()};
  options.backoff = testing::quick_backoff();
  ConsulRegistration reg(control.executor(), options, registration(), metrics);
  reg.start();
  auto& errors =
      metrics.counter("gatewayd_discovery_registration_errors_total", "", {{"provider", "consul"}});
  ASSERT_TRUE(eventually([&] { return errors.value() >= 2; }));
  EXPECT_FALSE(reg.registered());
  consul.start();
  ASSERT_TRUE(eventually([&] { return consul.registration("gatewayd-test-8001").has_value(); }));

  // The agent lost it (its state was wiped): the periodic check registers it again.
  ASSERT_TRUE(consul.forget_registration("gatewayd-test-8001"));
  ASSERT_TRUE(eventually([&] { return consul.registration("gatewayd-test-8001").has_value(); }));
  EXPECT_TRUE(reg.stop(std::chrono::seconds(5)));
  EXPECT_FALSE(consul.registration("gatewayd-test-8001"));
}

TEST(NacosRegistration, RegistersBeatsAndDeregisters) {
  test::FakeNacos nacos;
  nacos.set_credentials("nacos", "pw");
  nacos.set_beat_interval(30);
  ControlThread control;
  metrics::Registry metrics;
  NacosOptions options;
  options.servers = {{"127.0.0.1", nacos.port()}};
  options.username = "nacos";
  options.password = "pw";
  options.backoff = testing::quick_backoff();
  NacosRegistration reg(control.executor(), options, registration(), metrics);
  reg.start();
  ASSERT_TRUE(eventually([&] { return reg.registered(); }));
  const auto inst = nacos.find("gatewayd", "127.0.0.1", 8001);
  ASSERT_TRUE(inst);
  EXPECT_TRUE(inst->ephemeral);
  EXPECT_EQ(inst->metadata.at("version"), "test");
  EXPECT_EQ(nacos.last_params("/nacos/v1/ns/instance").at("groupName"), "DEFAULT_GROUP");

  // Heartbeats at the server's clientBeatInterval.
  ASSERT_TRUE(eventually([&] { return nacos.beats() >= 5 && reg.beats() >= 5; }));
  const auto beat = nacos.last_params("/nacos/v1/ns/instance/beat");
  EXPECT_EQ(beat.at("serviceName"), "gatewayd");
  EXPECT_EQ(beat.at("ip"), "127.0.0.1");
  EXPECT_FALSE(beat.at("accessToken").empty());
  EXPECT_NE(beat.at("beat").find("DEFAULT_GROUP@@gatewayd"), std::string::npos);

  // The server expired the instance: the next beat says so and the gateway registers again.
  ASSERT_TRUE(nacos.remove("gatewayd", "127.0.0.1", 8001));
  ASSERT_TRUE(eventually([&] { return nacos.find("gatewayd", "127.0.0.1", 8001).has_value(); }));

  EXPECT_TRUE(reg.stop(std::chrono::seconds(5)));
  EXPECT_FALSE(nacos.find("gatewayd", "127.0.0.1", 8001));
  EXPECT_EQ(nacos.deregistrations(), 1u);
}

}  // namespace
}  // namespace gatewayd::discovery
