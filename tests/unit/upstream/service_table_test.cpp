#include "upstream/service_table.hpp"

#include <gtest/gtest.h>

#include "test_helpers.hpp"
#include "upstream/clock.hpp"

namespace gatewayd::upstream {
namespace {

ServiceTable::ServiceMap services() {
  ServiceTable::ServiceMap m;
  ServiceConfig a;
  a.name = "alpha";
  a.instances = {test::instance("h1", 1), test::instance("h2", 2)};
  a.lb = LbStrategy::kWeighted;
  ServiceConfig b;
  b.name = "";  // the key names it
  b.instances = {test::instance("h3", 3)};
  m.emplace("alpha", a);
  m.emplace("beta", b);
  return m;
}

TEST(ServiceTableTest, BuildsEveryServiceByName) {
  ManualClock clock;
  EndpointRegistry registry(clock);
  auto table = ServiceTable::build(registry, services());
  ASSERT_EQ(table->size(), 2U);
  ASSERT_NE(table->find("alpha"), nullptr);
  EXPECT_EQ(table->find("alpha")->endpoints().size(), 2U);
  ASSERT_NE(table->find("beta"), nullptr);
  EXPECT_EQ(table->find("beta")->name(), "beta");
  EXPECT_EQ(table->find("gamma"), nullptr);
  EXPECT_EQ(table->get("gamma"), nullptr);
  EXPECT_EQ(table->all().size(), 2U);
}

TEST(ServiceTableTest, RebuildSharesState) {
  ManualClock clock;
  EndpointRegistry registry(clock);
  auto t1 = ServiceTable::build(registry, services());
  auto t2 = ServiceTable::build(registry, services());
  EXPECT_NE(t1->find("alpha"), t2->find("alpha"));
  EXPECT_EQ(t1->find("alpha")->endpoints()[0], t2->find("alpha")->endpoints()[0]);
  EXPECT_EQ(&t1->find("beta")->breaker(), &t2->find("beta")->breaker());
}

TEST(CircuitPermitTest, RetryAfterSecondsRoundsUp) {
  using std::chrono::milliseconds;
  CircuitPermit p;
  EXPECT_EQ(p.retry_after_seconds(), 1U);
  p.retry_after = milliseconds(1);
  EXPECT_EQ(p.retry_after_seconds(), 1U);
  p.retry_after = milliseconds(1000);
  EXPECT_EQ(p.retry_after_seconds(), 1U);
  p.retry_after = milliseconds(1001);
  EXPECT_EQ(p.retry_after_seconds(), 2U);
  p.retry_after = milliseconds(60'000);
  EXPECT_EQ(p.retry_after_seconds(), 60U);
}

}  // namespace
}  // namespace gatewayd::upstream
