#include "upstream/load_balancer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "test_helpers.hpp"
#include "upstream/clock.hpp"
#include "upstream/service_endpoints.hpp"

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;
using test::exact_policy;
using test::instance;

class LoadBalancerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  EndpointList endpoints_;

  void add(const std::string& name, std::uint32_t weight = 1) {
    endpoints_.push_back(
        std::make_shared<Endpoint>("svc", instance(name, 80, weight), exact_policy(), clock_));
    names_[endpoints_.back().get()] = name;
  }
  std::string name(const Endpoint* e) const { return e ? names_.at(e) : "-"; }

  std::string pick(LoadBalancer& lb, const ExcludeSet& tried = {}) {
    ExcludeSet refused;
    return name(lb.pick(Candidates(endpoints_, clock_.now(), tried, refused)));
  }
  std::string sequence(LoadBalancer& lb, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += pick(lb);
    return out;
  }
  std::map<std::string, int> histogram(LoadBalancer& lb, int n) {
    std::map<std::string, int> h;
    for (int i = 0; i < n; ++i) ++h[pick(lb)];
    return h;
  }
  void open_breaker(Endpoint& e) {
    for (int i = 0; i < 3; ++i) e.breaker().on_failure(e.breaker().allow(), FailureKind::kConnect);
    ASSERT_EQ(e.breaker().state(), CircuitState::kOpen);
  }

 private:
  std::map<const Endpoint*, std::string> names_;
};

TEST_F(LoadBalancerTest, SmoothWeightedRoundRobinSequence) {
  add("a", 5);
  add("b", 1);
  add("c", 1);
  auto lb = make_load_balancer(LbStrategy::kWeighted, endpoints_);
  EXPECT_EQ(sequence(*lb, 7), "aabacaa");
  EXPECT_EQ(sequence(*lb, 7), "aabacaa");  // the cycle repeats exactly
}

TEST_F(LoadBalancerTest, WeightedDistributionIsExactPerCycle) {
  add("a", 3);
  add("b", 2);
  add("c", 1);
  auto lb = make_load_balancer(LbStrategy::kWeighted, endpoints_);
  auto h = histogram(*lb, 600);
  EXPECT_EQ(h["a"], 300);
  EXPECT_EQ(h["b"], 200);
  EXPECT_EQ(h["c"], 100);
}

TEST_F(LoadBalancerTest, WeightedSkipsUnavailableEndpoints) {
  add("a", 5);
  add("b", 1);
  add("c", 1);
  endpoints_[1]->set_healthy(false);
  auto lb = make_load_balancer(LbStrategy::kWeighted, endpoints_);
  auto h = histogram(*lb, 60);
  EXPECT_EQ(h["a"], 50);
  EXPECT_EQ(h["b"], 0);
  EXPECT_EQ(h["c"], 10);
}

TEST_F(LoadBalancerTest, RoundRobinCyclesEvenly) {
  add("a");
  add("b");
  add("c");
  auto lb = make_load_balancer(LbStrategy::kRoundRobin, endpoints_);
  EXPECT_EQ(sequence(*lb, 6), "abcabc");
}

TEST_F(LoadBalancerTest, RoundRobinSkipsDisabledUnhealthyEjectedAndOpen) {
  add("a");
  add("b");
  add("c");
  add("d");
  add("e");
  endpoints_[0]->set_enabled(false);
  endpoints_[1]->set_healthy(false);
  open_breaker(*endpoints_[3]);
  auto lb = make_load_balancer(LbStrategy::kRoundRobin, endpoints_);
  auto h = histogram(*lb, 100);
  EXPECT_EQ(h["a"] + h["b"] + h["d"], 0);
  EXPECT_EQ(h["c"] + h["e"], 100);
  EXPECT_GE(h["c"], 40);  // the skipped turns go to the next endpoint, not one favourite
  EXPECT_GE(h["e"], 40);

  // Once the open time has passed, the breaker would admit a probe again.
  clock_.advance(1000ms);
  EXPECT_GT(histogram(*lb, 50)["d"], 0);
}

TEST_F(LoadBalancerTest, NothingAvailableGivesNull) {
  add("a");
  add("b");
  endpoints_[0]->set_healthy(false);
  open_breaker(*endpoints_[1]);
  for (auto strategy : {LbStrategy::kRoundRobin, LbStrategy::kWeighted,
                        LbStrategy::kLeastConnections, LbStrategy::kRandom}) {
    auto lb = make_load_balancer(strategy, endpoints_);
    EXPECT_EQ(pick(*lb), "-") << lb_strategy_name(strategy);
  }
  EndpointList none;
  for (auto strategy : {LbStrategy::kRoundRobin, LbStrategy::kWeighted,
                        LbStrategy::kLeastConnections, LbStrategy::kRandom}) {
    auto lb = make_load_balancer(strategy, none);
    ExcludeSet tried, refused;
    EXPECT_EQ(lb->pick(Candidates(none, clock_.now(), tried, refused)), nullptr);
  }
}

TEST_F(LoadBalancerTest, ExclusionPrefersUntriedAndFallsBack) {
  add("a");
  add("b");
  add("c");
  for (auto strategy : {LbStrategy::kRoundRobin, LbStrategy::kWeighted,
                        LbStrategy::kLeastConnections, LbStrategy::kRandom}) {
    auto lb = make_load_balancer(strategy, endpoints_);
    ExcludeSet tried;
    tried.add(endpoints_[0].get());
    for (int i = 0; i < 20; ++i) {
      EXPECT_NE(pick(*lb, tried), "a") << lb_strategy_name(strategy);
    }
    tried.add(endpoints_[2].get());
    for (int i = 0; i < 20; ++i) EXPECT_EQ(pick(*lb, tried), "b") << lb_strategy_name(strategy);
    // Everything tried: a tried endpoint is better than none.
    tried.add(endpoints_[1].get());
    for (int i = 0; i < 5; ++i) EXPECT_NE(pick(*lb, tried), "-") << lb_strategy_name(strategy);
    // A tried and unavailable endpoint is never the fallback.
    endpoints_[0]->set_healthy(false);
    endpoints_[1]->set_healthy(false);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(pick(*lb, tried), "c") << lb_strategy_name(strategy);
    endpoints_[0]->set_healthy(true);
    endpoints_[1]->set_healthy(true);
  }
}

TEST_F(LoadBalancerTest, LeastConnectionsPicksFewestInFlight) {
  add("a");
  add("b");
  add("c");
  auto lb = make_load_balancer(LbStrategy::kLeastConnections, endpoints_);
  ActiveRequest a1(*endpoints_[0]), a2(*endpoints_[0]), c1(*endpoints_[2]);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(pick(*lb), "b");
  ActiveRequest b1(*endpoints_[1]), b2(*endpoints_[1]);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(pick(*lb), "c");
}

TEST_F(LoadBalancerTest, LeastConnectionsBreaksTiesRoundRobin) {
  add("a");
  add("b");
  add("c");
  auto lb = make_load_balancer(LbStrategy::kLeastConnections, endpoints_);
  auto h = histogram(*lb, 300);
  EXPECT_EQ(h["a"], 100);
  EXPECT_EQ(h["b"], 100);
  EXPECT_EQ(h["c"], 100);
}

TEST_F(LoadBalancerTest, LeastConnectionsFollowsLoad) {
  add("a");
  add("b");
  auto lb = make_load_balancer(LbStrategy::kLeastConnections, endpoints_);
  // Requests that never finish pile up evenly.
  std::vector<ActiveRequest> held;
  std::map<std::string, int> h;
  for (int i = 0; i < 10; ++i) {
    ExcludeSet tried, refused;
    Endpoint* e = lb->pick(Candidates(endpoints_, clock_.now(), tried, refused));
    ASSERT_NE(e, nullptr);
    held.emplace_back(*e);
    ++h[name(e)];
  }
  EXPECT_EQ(h["a"], 5);
  EXPECT_EQ(h["b"], 5);
  EXPECT_EQ(endpoints_[0]->active_requests(), 5U);
  held.clear();
  EXPECT_EQ(endpoints_[0]->active_requests(), 0U);
}

TEST_F(LoadBalancerTest, RandomIsUniformForEqualWeights) {
  add("a");
  add("b");
  add("c");
  auto lb = make_load_balancer(LbStrategy::kRandom, endpoints_);
  auto h = histogram(*lb, 30'000);
  // Expected 10,000 each with a standard deviation of ~82: +-600 is over 7 sigma.
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_NEAR(h[n], 10'000, 600) << n;
  }
}

TEST_F(LoadBalancerTest, RandomFollowsWeightsAndSkips) {
  add("a", 3);
  add("b", 1);
  add("c", 4);
  endpoints_[2]->set_enabled(false);
  auto lb = make_load_balancer(LbStrategy::kRandom, endpoints_);
  auto h = histogram(*lb, 40'000);
  EXPECT_EQ(h["c"], 0);
  EXPECT_NEAR(h["a"], 30'000, 800);
  EXPECT_NEAR(h["b"], 10'000, 800);
}

TEST_F(LoadBalancerTest, ZeroWeightDrains) {
  add("a", 0);
  add("b", 1);
  add("c", 2);
  EXPECT_EQ(endpoints_[0]->weight(), 0U);
  EXPECT_FALSE(endpoints_[0]->available(clock_.now()));
  for (auto strategy : {LbStrategy::kRoundRobin, LbStrategy::kWeighted,
                        LbStrategy::kLeastConnections, LbStrategy::kRandom}) {
    auto lb = make_load_balancer(strategy, endpoints_);
    EXPECT_EQ(histogram(*lb, 30)["a"], 0) << lb_strategy_name(strategy);
  }
  auto lb = make_load_balancer(LbStrategy::kWeighted, endpoints_);
  EXPECT_EQ(sequence(*lb, 6), "cbccbc");
  // Weight back: it takes traffic again.
  endpoints_[0]->set_weight(1);
  EXPECT_GT(histogram(*lb, 8)["a"], 0);
}

TEST_F(LoadBalancerTest, StrategyNames) {
  EXPECT_EQ(lb_strategy_name(LbStrategy::kRoundRobin), "round_robin");
  EXPECT_EQ(lb_strategy_name(LbStrategy::kWeighted), "weighted");
  EXPECT_EQ(lb_strategy_name(LbStrategy::kLeastConnections), "least_connections");
  EXPECT_EQ(lb_strategy_name(LbStrategy::kRandom), "random");
}

TEST_F(LoadBalancerTest, ExcludeSetIsBounded) {
  add("a");
  ExcludeSet set;
  std::vector<std::unique_ptr<int>> dummies;
  for (std::size_t i = 0; i < ExcludeSet::kCapacity + 5; ++i) {
    dummies.push_back(std::make_unique<int>(0));
    set.add(reinterpret_cast<const Endpoint*>(dummies.back().get()));
  }
  EXPECT_EQ(set.size(), ExcludeSet::kCapacity);
  set.add(endpoints_[0].get());
  EXPECT_FALSE(set.contains(endpoints_[0].get()));
  set.clear();
  set.add(endpoints_[0].get());
  set.add(endpoints_[0].get());
  EXPECT_EQ(set.size(), 1U);
  EXPECT_TRUE(set.contains(endpoints_[0].get()));
}

// Selection through a service: permits, half-open slots and refusal.
class ServiceSelectTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  EndpointRegistry registry_{clock_};

  ServiceConfig config(LbStrategy lb = LbStrategy::kRoundRobin) {
    ServiceConfig c;
    c.name = "svc";
    c.lb = lb;
    c.instances = {instance("a", 80), instance("b", 80)};
    c.circuit_breaker = exact_policy();
    c.circuit_breaker.half_open_max_requests = 1;
    return c;
  }
};

TEST_F(ServiceSelectTest, SelectTakesAPermitAndSkipsOpenEndpoints) {
  auto svc = ServiceEndpoints::build(registry_, config());
  auto& a = *svc->endpoints()[0];
  auto& b = *svc->endpoints()[1];
  for (int i = 0; i < 3; ++i) {
    ExcludeSet tried;
    auto sel = svc->select(tried);
    ASSERT_TRUE(sel);
    // Keep the load on a: failures on a only.
    if (sel.endpoint == &a) {
      svc->report(sel, AttemptOutcome::connect_error());
    } else {
      svc->report(sel, AttemptOutcome::response(200));
    }
  }
  // a got 2 of 3 picks; one more failure opens it.
  auto sel = svc->select({});
  ASSERT_EQ(sel.endpoint, &b);
  svc->report(sel, AttemptOutcome::response(200));
  sel = svc->select({});
  ASSERT_EQ(sel.endpoint, &a);
  svc->report(sel, AttemptOutcome::connect_error());
  ASSERT_EQ(a.breaker().state(), CircuitState::kOpen);
  for (int i = 0; i < 10; ++i) {
    auto s = svc->select({});
    ASSERT_EQ(s.endpoint, &b);
    svc->report(s, AttemptOutcome::response(200));
  }

  // a's open time passes: exactly one probe (half_open_max_requests = 1) goes to a.
  clock_.advance(1000ms);
  int to_a = 0;
  std::vector<Selection> held;
  for (int i = 0; i < 10; ++i) {
    auto s = svc->select({});
    ASSERT_TRUE(s);
    if (s.endpoint == &a) {
      ++to_a;
      EXPECT_TRUE(s.permit.probe);
    }
    held.push_back(s);
  }
  EXPECT_EQ(to_a, 1);
  for (auto& s : held) svc->release(s);
}

TEST_F(ServiceSelectTest, NothingAvailableIsEmptySelection) {
  auto svc = ServiceEndpoints::build(registry_, config());
  for (const auto& e : svc->endpoints()) e->set_enabled(false);
  EXPECT_FALSE(svc->select({}));
  EXPECT_FALSE(svc->has_available_endpoint());
  EXPECT_FALSE(svc->has_healthy_endpoint());
}

TEST_F(ServiceSelectTest, RetryGoesToAnotherEndpoint) {
  for (auto lb : {LbStrategy::kRoundRobin, LbStrategy::kWeighted, LbStrategy::kLeastConnections,
                  LbStrategy::kRandom}) {
    auto svc = ServiceEndpoints::build(registry_, config(lb));
    for (int i = 0; i < 20; ++i) {
      ExcludeSet tried;
      auto first = svc->select(tried);
      ASSERT_TRUE(first);
      tried.add(first.endpoint);
      auto second = svc->select(tried);
      ASSERT_TRUE(second);
      EXPECT_NE(first.endpoint, second.endpoint) << lb_strategy_name(lb);
      svc->release(first);
      svc->release(second);
    }
  }
}

}  // namespace
}  // namespace gatewayd::upstream
