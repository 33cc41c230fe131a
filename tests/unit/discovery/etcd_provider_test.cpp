// The etcd provider against a real etcd through its v3 JSON gateway.
#include "discovery/etcd_provider.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "discovery_test_util.hpp"
#include "support/etcd_server.hpp"
#include "support/free_port.hpp"

namespace gatewayd::discovery {
namespace {

using testing::ChangeWaiter;
using testing::ControlThread;
using testing::eventually;

constexpr const char* kPrefix = "/gatewayd-test/services/";

std::string value(const std::string& url, int weight = 1, bool healthy = true) {
  return R"({"url":")" + url + R"(","weight":)" + std::to_string(weight) + R"(,"healthy":)" +
         (healthy ? "true" : "false") + "}";
}

class EtcdProviderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::etcd_installed()) return;
    etcd_ = new test::EtcdServer();
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    if (etcd_ == nullptr) GTEST_SKIP() << "etcd is not installed";
    if (!etcd_->running()) etcd_->start();
    // Every test gets its own service so the shared server's history does not leak in.
    service_ = "svc" + std::to_string(++counter_);
  }

  EtcdOptions options() {
    EtcdOptions o;
    o.endpoints = {{"127.0.0.1", etcd_->port()}};
    o.prefix = kPrefix;
    o.backoff = testing::quick_backoff();
    o.request_timeout = std::chrono::seconds(5);
    return o;
  }
  ServiceConfig service() {
    ServiceConfig s;
    s.name = service_;
    return s;
  }
  std::string key(const std::string& instance) { return kPrefix + service_ + "/" + instance; }
  EndpointSetPtr current() { return registry_.current(service_); }
  const DiscoveredEndpoint* find(const std::string& id) {
    return testing::find_endpoint(current(), id);
  }

  static inline test::EtcdServer* etcd_ = nullptr;
  static inline int counter_ = 0;
  std::string service_;
  metrics::Registry metrics_;
  DiscoveryRegistry registry_{metrics_};
  ChangeWaiter changes_{registry_};
  ControlThread control_;
};

TEST_F(EtcdProviderTest, ListsThenFollowsTheWatchStream) {
  etcd_->put(key("a"), value("http://10.0.0.1:8001"));
  EtcdProvider provider(control_.executor(), registry_, options());
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") != nullptr; }));
  EXPECT_EQ(current()->source(), "etcd");
  EXPECT_EQ(current()->endpoints()[0].instance_id, key("a"));

  etcd_->put(key("b"), value("http://10.0.0.2:8002", 2));
  ASSERT_TRUE(changes_.wait_for([&] {
    const auto* e = find("10.0.0.2:8002");
    return e && e->weight == 2;
  }));

  etcd_->put(key("b"), value("http://10.0.0.2:8002", 9));
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.2:8002")->weight == 9; }));

  etcd_->put(key("a"), value("http://10.0.0.1:8001", 1, false));
  ASSERT_TRUE(changes_.wait_for([&] { return !find("10.0.0.1:8001")->healthy; }));

  etcd_->del(key("a"));
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") == nullptr; }));
  EXPECT_TRUE(changes_.wait_for_change([](const DiscoveryChange& c) {
    return c.removed == std::vector<std::string>{"10.0.0.1:8001"};
  }));

  // Keys of other services (even with a common name prefix) are not ours.
  etcd_->put(kPrefix + service_ + "x/z", value("http://10.9.9.9:1"));
  etcd_->put(key("c"), value("http://10.0.0.3:8003"));
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.3:8003") != nullptr; }));
  EXPECT_EQ(current()->size(), 2u);
  EXPECT_EQ(provider.lists(), 1u) << "all of this came through one watch";
  EXPECT_TRUE(registry_.status().ok());
}

TEST_F(EtcdProviderTest, IgnoresMalformedValues) {
  etcd_->put(key("a"), value("http://10.0.0.1:8001"));
  etcd_->put(key("bad"), "not json");
  EtcdProvider provider(control_.executor(), registry_, options());
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return current() != nullptr; }));
  EXPECT_EQ(current()->size(), 1u);
  etcd_->put(key("a"), R"({"url":"gopher://x"})");
  ASSERT_TRUE(changes_.wait_for([&] { return current()->empty(); }));
}

TEST_F(EtcdProviderTest, ListsAgainAfterACompaction) {
  etcd_->put(key("a"), value("http://10.0.0.1:8001"));
  std::atomic<int> hooks{0};
  auto o = options();
  // Between the first list and its watch, the prefix changes twice and history is compacted
  // past the watch's start revision (the first of those changes), so etcd cancels the watch
  // with compact_revision.
  o.on_before_watch = [&](const std::string&, std::int64_t) {
    if (hooks.fetch_add(1) != 0) return;
    etcd_->put(key("b"), value("http://10.0.0.2:8001"));
    etcd_->put(key("b"), value("http://10.0.0.2:8002"));
    etcd_->compact(etcd_->revision());
  };
  EtcdProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.2:8002") != nullptr; }));
  EXPECT_GE(provider.lists(), 2u);
  EXPECT_EQ(registry_.error_count(service_), 0u) << "a compaction is not a backend failure";
  // And the new watch works.
  etcd_->del(key("a"));
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") == nullptr; }));
}

TEST_F(EtcdProviderTest, KeepsTheLastSetWhileEtcdIsDownAndResumes) {
  etcd_->put(key("a"), value("http://10.0.0.1:8001"));
  auto o = options();
  // A dead first endpoint: the provider fails over to the real one.
  o.endpoints.insert(o.endpoints.begin(), HttpEndpoint{"127.0.0.1", test::free_port()});
  EtcdProvider provider(control_.executor(), registry_, o);
  provider.watch(service());
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") != nullptr; }));
  const auto before = current();

  etcd_->stop();
  ASSERT_TRUE(eventually([&] { return registry_.error_count(service_) >= 3; }));
  EXPECT_EQ(current(), before);
  EXPECT_FALSE(registry_.status().ok());
  EXPECT_GE(metrics_
                .counter("gatewayd_discovery_errors_total", "",
                         {{"provider", "etcd"}, {"service", service_}})
                .value(),
            3u);

  etcd_->start();
  etcd_->put(key("b"), value("http://10.0.0.2:8002"));
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.2:8002") != nullptr; }));
  ASSERT_TRUE(eventually([&] { return registry_.status().ok(); }));
  etcd_->del(key("a"));
  ASSERT_TRUE(changes_.wait_for([&] { return find("10.0.0.1:8001") == nullptr; }));
}

}  // namespace
}  // namespace gatewayd::discovery
