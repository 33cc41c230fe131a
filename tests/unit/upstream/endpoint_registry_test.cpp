#include "upstream/endpoint_registry.hpp"

#include <gtest/gtest.h>

#include "test_helpers.hpp"
#include "upstream/clock.hpp"
#include "upstream/service_endpoints.hpp"

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;
using test::instance;

class EndpointRegistryTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  std::shared_ptr<test::RecordingObserver> observer_ = std::make_shared<test::RecordingObserver>();
  EndpointRegistry registry_{clock_, observer_};

  static ServiceConfig config(std::vector<InstanceConfig> instances) {
    ServiceConfig c;
    c.name = "orders";
    c.instances = std::move(instances);
    c.circuit_breaker = test::exact_policy();
    return c;
  }
};

TEST_F(EndpointRegistryTest, ReloadKeepsEndpointStateByName) {
  auto v1 = ServiceEndpoints::build(registry_, config({instance("a", 1), instance("b", 2)}));
  auto& a = *v1->endpoints()[0];
  for (int i = 0; i < 3; ++i) a.breaker().on_failure(a.breaker().allow(), FailureKind::kConnect);
  ASSERT_EQ(a.breaker().state(), CircuitState::kOpen);
  a.set_healthy(false);

  // A reload lists the endpoints in another order, with another weight, plus a new one.
  auto cfg = config({instance("c", 3), instance("b", 2), instance("a", 1, 7)});
  cfg.health_check.enabled = true;  // keep the health verdict (no reset to healthy)
  auto v2 = ServiceEndpoints::build(registry_, cfg);
  ASSERT_EQ(v2->endpoints().size(), 3U);
  EXPECT_EQ(v2->endpoints()[2].get(), &a);
  EXPECT_EQ(v2->endpoints()[1].get(), v1->endpoints()[1].get());
  EXPECT_EQ(a.breaker().state(), CircuitState::kOpen);
  EXPECT_FALSE(a.healthy());
  EXPECT_EQ(a.weight(), 7U);
  EXPECT_EQ(&v1->breaker(), &v2->breaker());  // the service breaker too
  EXPECT_EQ(&v1->retry_budget(), &v2->retry_budget());
  // One breaker created per endpoint and one for the service, never again on reload.
  EXPECT_EQ(observer_->created().size(), 4U);
}

TEST_F(EndpointRegistryTest, WithoutHealthCheckEndpointsAreHealthy) {
  auto v1 = ServiceEndpoints::build(registry_, config({instance("a", 1)}));
  v1->endpoints()[0]->set_healthy(false);
  auto v2 = ServiceEndpoints::build(registry_, config({instance("a", 1)}));
  EXPECT_TRUE(v2->endpoints()[0]->healthy());
}

TEST_F(EndpointRegistryTest, ConfigHealthyFalseDisables) {
  auto v =
      ServiceEndpoints::build(registry_, config({instance("a", 1), instance("b", 1, 1, false)}));
  EXPECT_TRUE(v->endpoints()[0]->enabled());
  EXPECT_FALSE(v->endpoints()[1]->enabled());
  for (int i = 0; i < 5; ++i) {
    auto sel = v->select({});
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel.endpoint, v->endpoints()[0].get());
    v->release(sel);
  }
}

TEST_F(EndpointRegistryTest, RemovedEndpointsGoAwayWithTheLastSnapshot) {
  auto v1 = ServiceEndpoints::build(registry_, config({instance("a", 1), instance("b", 1)}));
  EXPECT_EQ(registry_.endpoint_count(), 2U);
  std::weak_ptr<Endpoint> b = v1->endpoints()[1];
  auto v2 = ServiceEndpoints::build(registry_, config({instance("a", 1)}));
  // The old snapshot (and requests holding it) still use b.
  EXPECT_NE(registry_.find_endpoint("orders", "b:1"), nullptr);
  v1.reset();
  EXPECT_TRUE(b.expired());
  EXPECT_EQ(registry_.find_endpoint("orders", "b:1"), nullptr);
  EXPECT_EQ(registry_.endpoint_count(), 1U);
  // Listed again later, it starts with fresh state.
  auto v3 = ServiceEndpoints::build(registry_, config({instance("a", 1), instance("b", 1)}));
  EXPECT_EQ(v3->endpoints()[1]->breaker().state(), CircuitState::kClosed);
  EXPECT_EQ(registry_.endpoints_of("orders").size(), 2U);
}

TEST_F(EndpointRegistryTest, SchemeChangeIsANewEndpoint) {
  auto v1 = ServiceEndpoints::build(registry_, config({instance("a", 1)}));
  auto https = instance("a", 1);
  https.scheme = "https";
  auto v2 = ServiceEndpoints::build(registry_, config({https}));
  EXPECT_NE(v1->endpoints()[0].get(), v2->endpoints()[0].get());
  EXPECT_EQ(v2->endpoints()[0]->scheme(), "https");
  EXPECT_EQ(registry_.find_endpoint("orders", "a:1").get(), v2->endpoints()[0].get());
}

TEST_F(EndpointRegistryTest, DuplicateInstancesAreListedOnce) {
  auto v = ServiceEndpoints::build(registry_, config({instance("a", 1), instance("a", 1)}));
  EXPECT_EQ(v->endpoints().size(), 1U);
}

TEST_F(EndpointRegistryTest, SameHostInTwoServicesIsTwoEndpoints) {
  auto c1 = config({instance("a", 1)});
  auto c2 = config({instance("a", 1)});
  c2.name = "billing";
  auto v1 = ServiceEndpoints::build(registry_, c1);
  auto v2 = ServiceEndpoints::build(registry_, c2);
  EXPECT_NE(v1->endpoints()[0].get(), v2->endpoints()[0].get());
  EXPECT_EQ(registry_.service_count(), 2U);
}

TEST_F(EndpointRegistryTest, PolicyReloadAppliesToExistingBreakers) {
  auto v1 = ServiceEndpoints::build(registry_, config({instance("a", 1)}));
  auto cfg = config({instance("a", 1)});
  cfg.circuit_breaker.failure_threshold = 1;
  auto v2 = ServiceEndpoints::build(registry_, cfg);
  auto& b = v2->endpoints()[0]->breaker();
  b.on_failure(b.allow(), FailureKind::kConnect);
  EXPECT_EQ(b.state(), CircuitState::kOpen);
  EXPECT_EQ(v2->breaker().policy().failure_threshold, 1U);
}

TEST_F(EndpointRegistryTest, ResetServiceClosesBreakersAndClearsEjections) {
  auto cfg = config({instance("a", 1), instance("b", 1)});
  cfg.outlier.consecutive_gateway_failures = 1;
  cfg.outlier.max_ejection_percent = 100;
  auto v = ServiceEndpoints::build(registry_, cfg);
  auto& a = *v->endpoints()[0];
  auto& b = *v->endpoints()[1];
  for (int i = 0; i < 3; ++i) a.breaker().on_failure(a.breaker().allow(), FailureKind::kConnect);
  Selection sel{&b, b.breaker().allow()};
  v->report(sel, AttemptOutcome::connect_error());
  ASSERT_TRUE(b.ejected(clock_.now()));
  for (int i = 0; i < 3; ++i) v->breaker().on_failure(v->breaker().allow(), FailureKind::kStatus);
  ASSERT_EQ(v->breaker().state(), CircuitState::kOpen);
  EXPECT_FALSE(v->has_available_endpoint());

  EXPECT_TRUE(registry_.reset_service("orders"));
  EXPECT_EQ(a.breaker().state(), CircuitState::kClosed);
  EXPECT_FALSE(b.ejected(clock_.now()));
  EXPECT_EQ(v->breaker().state(), CircuitState::kClosed);
  EXPECT_TRUE(v->has_available_endpoint());
  EXPECT_FALSE(registry_.reset_service("nope"));
}

TEST_F(EndpointRegistryTest, ReportFeedsBreakerAndOutlierDetection) {
  auto cfg = config({instance("a", 1), instance("b", 1)});
  cfg.circuit_breaker.failure_threshold = 100;
  cfg.outlier.consecutive_5xx = 2;
  cfg.outlier.max_ejection_percent = 50;
  auto v = ServiceEndpoints::build(registry_, cfg);
  auto& a = *v->endpoints()[0];
  v->report({&a, a.breaker().allow()}, AttemptOutcome::response(500));
  EXPECT_EQ(a.breaker().snapshot().consecutive_failures, 1U);
  EXPECT_FALSE(a.ejected(clock_.now()));
  v->report({&a, a.breaker().allow()}, AttemptOutcome::response(502));
  EXPECT_TRUE(a.ejected(clock_.now()));
  for (int i = 0; i < 4; ++i) {
    auto sel = v->select({});
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel.endpoint, v->endpoints()[1].get());
    v->report(sel, AttemptOutcome::response(200));
  }
}

}  // namespace
}  // namespace gatewayd::upstream
