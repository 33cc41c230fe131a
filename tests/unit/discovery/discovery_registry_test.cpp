#include "discovery/discovery_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace gatewayd::discovery {
namespace {

EndpointSetPtr make_set(const std::string& service, const std::string& source,
                        std::vector<std::pair<std::string, std::uint32_t>> hosts) {
  std::vector<DiscoveredEndpoint> endpoints;
  for (auto& [host, weight] : hosts) {
    DiscoveredEndpoint e;
    e.address = host;
    e.port = 80;
    e.weight = weight;
    e.assign_id();
    endpoints.push_back(std::move(e));
  }
  return std::make_shared<const EndpointSet>(service, source, std::move(endpoints));
}

class DiscoveryRegistryTest : public ::testing::Test {
 protected:
  metrics::Registry metrics_;
  DiscoveryRegistry registry_{metrics_};
};

TEST_F(DiscoveryRegistryTest, PublishSwapsAndNotifiesOnlyOnChange) {
  std::vector<DiscoveryChange> changes;
  registry_.subscribe([&](const DiscoveryChange& c) { changes.push_back(c); });

  EXPECT_EQ(registry_.current("orders"), nullptr);
  EXPECT_TRUE(registry_.publish(make_set("orders", "consul", {{"a", 1}, {"b", 1}})));
  EXPECT_EQ(registry_.version(), 1u);
  const auto first = registry_.current("orders");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->size(), 2u);

  // Same endpoints again: nothing happens, the old pointer stays.
  EXPECT_FALSE(registry_.publish(make_set("orders", "consul", {{"b", 1}, {"a", 1}})));
  EXPECT_EQ(registry_.version(), 1u);
  EXPECT_EQ(registry_.current("orders"), first);

  EXPECT_TRUE(registry_.publish(make_set("orders", "consul", {{"b", 7}, {"c", 1}})));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].previous, nullptr);
  EXPECT_TRUE(changes[0].removed.empty());
  EXPECT_EQ(changes[1].previous, first);
  EXPECT_EQ(changes[1].removed, (std::vector<std::string>{"a:80"}));
  EXPECT_EQ(changes[1].version, 2u);
  // A request holding the first set still sees it unchanged.
  EXPECT_EQ(first->size(), 2u);
  EXPECT_EQ(first->find("b:80")->weight, 1u);

  EXPECT_EQ(metrics_
                .counter("gatewayd_discovery_updates_total", "",
                         {{"provider", "consul"}, {"service", "orders"}})
                .value(),
            2u);
  EXPECT_EQ(metrics_.gauge("gatewayd_discovery_endpoints", "", {{"service", "orders"}}).value(),
            2.0);
}

TEST_F(DiscoveryRegistryTest, ErrorsKeepTheSetCountAndDegrade) {
  registry_.expect("orders", "consul");
  EXPECT_FALSE(registry_.status().ok()) << "a service without a set is degraded";
  EXPECT_NE(registry_.status().detail.find("waiting for consul"), std::string::npos);

  registry_.publish(make_set("orders", "consul", {{"a", 1}}));
  registry_.report_ok("consul", "orders");
  EXPECT_TRUE(registry_.status().ok());
  EXPECT_EQ(registry_.status().detail, "ok");

  registry_.report_error("consul", "orders", "connection refused");
  registry_.report_error("consul", "orders", "connection refused");
  ASSERT_NE(registry_.current("orders"), nullptr);
  EXPECT_EQ(registry_.current("orders")->size(), 1u);
  const auto status = registry_.status();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.detail.find("orders: consul failing: connection refused"), std::string::npos);
  EXPECT_EQ(registry_.error_count("orders"), 2u);
  EXPECT_EQ(metrics_
                .counter("gatewayd_discovery_errors_total", "",
                         {{"provider", "consul"}, {"service", "orders"}})
                .value(),
            2u);

  registry_.report_ok("consul", "orders");
  EXPECT_TRUE(registry_.status().ok());
}

TEST_F(DiscoveryRegistryTest, FallbackSetIsDegradedUntilTheBackendAnswers) {
  registry_.expect("orders", "etcd");
  registry_.publish(make_set("orders", "static-fallback", {{"a", 1}}));
  EXPECT_TRUE(registry_.all_have_sets());
  EXPECT_FALSE(registry_.has_backend_set("orders"));
  EXPECT_NE(registry_.status().detail.find("services.yaml fallback"), std::string::npos);

  // The backend answers with the same endpoints: no change, but no longer degraded.
  EXPECT_FALSE(registry_.publish(make_set("orders", "etcd", {{"a", 1}})));
  EXPECT_TRUE(registry_.has_backend_set("orders"));
  EXPECT_EQ(registry_.current("orders")->source(), "etcd");
  EXPECT_TRUE(registry_.status().ok());

  // A late fallback never replaces what the backend said.
  EXPECT_FALSE(registry_.publish(make_set("orders", "static-fallback", {{"z", 1}})));
  EXPECT_EQ(registry_.current("orders")->source(), "etcd");
  EXPECT_TRUE(registry_.status().ok());
}

TEST_F(DiscoveryRegistryTest, StatusDetailIsBounded) {
  for (int i = 0; i < 20; ++i) registry_.report_error("nacos", "s" + std::to_string(i), "down");
  const auto status = registry_.status();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.detail.find("and 15 more"), std::string::npos);
}

TEST_F(DiscoveryRegistryTest, ForgetNotifiesWithEveryEndpointRemoved) {
  registry_.publish(make_set("orders", "consul", {{"a", 1}, {"b", 1}}));
  std::vector<DiscoveryChange> changes;
  registry_.subscribe([&](const DiscoveryChange& c) { changes.push_back(c); });
  registry_.forget("orders");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].current, nullptr);
  EXPECT_EQ(changes[0].removed.size(), 2u);
  EXPECT_EQ(registry_.current("orders"), nullptr);
  EXPECT_TRUE(registry_.snapshot().empty());
}

TEST_F(DiscoveryRegistryTest, UnsubscribedCallbacksStopAndThrowingOnesDoNotBlockOthers) {
  int calls = 0;
  registry_.subscribe([](const DiscoveryChange&) { throw std::runtime_error("boom"); });
  const auto id = registry_.subscribe([&](const DiscoveryChange&) { ++calls; });
  registry_.publish(make_set("a", "consul", {{"x", 1}}));
  registry_.unsubscribe(id);
  registry_.publish(make_set("a", "consul", {{"y", 1}}));
  EXPECT_EQ(calls, 1);
}

TEST_F(DiscoveryRegistryTest, ConcurrentReadersSeeWholeSets) {
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      if (auto set = registry_.current("svc")) {
        // Every published set has as many endpoints as its first endpoint's weight says.
        ASSERT_EQ(set->size(), set->endpoints().front().weight);
        reads.fetch_add(1);
      }
    }
  });
  for (std::uint32_t n = 1; n <= 200; ++n) {
    std::vector<std::pair<std::string, std::uint32_t>> hosts;
    for (std::uint32_t i = 0; i < n % 7 + 1; ++i)
      hosts.emplace_back("h" + std::to_string(i), n % 7 + 1);
    registry_.publish(make_set("svc", "etcd", hosts));
  }
  done = true;
  reader.join();
  EXPECT_GT(registry_.version(), 0u);
}

}  // namespace
}  // namespace gatewayd::discovery
