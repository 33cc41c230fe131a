#include "upstream/default_circuit_observer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <mutex>
#include <vector>

#include "test_helpers.hpp"
#include "upstream/circuit_breaker.hpp"
#include "upstream/clock.hpp"
#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {
namespace {

using namespace std::chrono_literals;

class CapturingSink final : public RecordSink {
 public:
  void submit(Record record) noexcept override {
    std::lock_guard lock(mutex_);
    records_.push_back(std::move(record));
  }
  template <typename T>
  std::vector<T> of() const {
    std::lock_guard lock(mutex_);
    std::vector<T> out;
    for (const auto& r : records_) {
      if (const T* t = std::get_if<T>(&r)) out.push_back(*t);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Record> records_;
};

TEST(DefaultCircuitObserverTest, TransitionsBecomeMetricsAndRecords) {
  ManualClock clock;
  CapturingSink sink;
  std::vector<std::string> extra;
  auto observer = std::make_shared<DefaultCircuitObserver>(
      sink, [&](const CircuitTransition& t) { extra.emplace_back(circuit_state_name(t.to)); });
  auto policy = test::exact_policy();
  CircuitBreaker breaker("observed-svc", "10.9.9.9:8080", policy, clock, observer);

  auto& gauge = metric::circuit_state("observed-svc", "10.9.9.9:8080");
  auto& opened = metric::circuit_transitions("observed-svc", "10.9.9.9:8080", "closed", "open");
  const auto opened_before = opened.value();
  EXPECT_EQ(gauge.value(), 0.0);

  for (int i = 0; i < 3; ++i) {
    auto p = breaker.allow();
    clock.advance(1s);
    breaker.on_failure(p, FailureKind::kConnect);
  }
  EXPECT_EQ(gauge.value(), 2.0);
  EXPECT_EQ(opened.value() - opened_before, 1U);

  auto states = sink.of<CircuitStateRecord>();
  ASSERT_EQ(states.size(), 1U);
  EXPECT_EQ(states[0].service_name, "observed-svc/10.9.9.9:8080");
  EXPECT_EQ(states[0].state, "open");
  EXPECT_EQ(states[0].failure_count, 3U);
  EXPECT_NE(states[0].last_state_change, SystemTime{});
  EXPECT_NE(states[0].last_failure_time, SystemTime{});
  EXPECT_LE(states[0].last_failure_time, states[0].last_state_change);

  auto audits = sink.of<AuditRecord>();
  ASSERT_EQ(audits.size(), 1U);
  EXPECT_EQ(audits[0].event_type, "circuit_breaker_transition");
  const auto details = nlohmann::json::parse(audits[0].details_json);
  EXPECT_EQ(details["service"], "observed-svc");
  EXPECT_EQ(details["endpoint"], "10.9.9.9:8080");
  EXPECT_EQ(details["from"], "closed");
  EXPECT_EQ(details["to"], "open");
  EXPECT_EQ(details["reason"], "consecutive_failures");
  EXPECT_EQ(details["failure_count"], 3);
  EXPECT_EQ(details["open_for_ms"], 1000);

  clock.advance(1s);
  auto probe = breaker.allow();
  EXPECT_EQ(gauge.value(), 1.0);
  breaker.on_success(probe);
  breaker.on_success(breaker.allow());
  EXPECT_EQ(gauge.value(), 0.0);
  EXPECT_EQ(sink.of<CircuitStateRecord>().size(), 3U);
  EXPECT_EQ(sink.of<CircuitStateRecord>().back().state, "closed");
  EXPECT_EQ(extra, (std::vector<std::string>{"open", "half_open", "closed"}));
}

TEST(DefaultCircuitObserverTest, ServiceLevelBreakerUsesTheServiceName) {
  ManualClock clock;
  CapturingSink sink;
  auto observer = std::make_shared<DefaultCircuitObserver>(sink);
  CircuitBreaker breaker("observed-whole", "", test::exact_policy(), clock, observer);
  for (int i = 0; i < 3; ++i) breaker.on_failure(breaker.allow(), FailureKind::kStatus);
  auto states = sink.of<CircuitStateRecord>();
  ASSERT_EQ(states.size(), 1U);
  EXPECT_EQ(states[0].service_name, "observed-whole");
  EXPECT_EQ(metric::circuit_state("observed-whole", "").value(), 2.0);
  EXPECT_EQ(&metric::circuit_state("observed-whole", ""),
            &metric::circuit_state("observed-whole", metric::kServiceLevel));
}

TEST(DefaultCircuitObserverTest, DetailsAreEscapedJson) {
  CircuitTransition t;
  t.service = "we\"ird";
  t.endpoint = "h:1";
  t.reason = "reset";
  const auto j = nlohmann::json::parse(DefaultCircuitObserver::details_json(t));
  EXPECT_EQ(j["service"], "we\"ird");
  EXPECT_FALSE(j.contains("open_for_ms"));
}

}  // namespace
}  // namespace gatewayd::upstream
