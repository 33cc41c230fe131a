#include "gatewayd/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gatewayd::metrics {
namespace {

TEST(MetricsTest, RendersExactExpositionForSmallRegistry) {
  Registry r;
  r.counter("gatewayd_http_requests_total", "Requests handled.",
            {{"route", "users"}, {"method", "GET"}, {"code", "200"}})
      .inc(3);
  r.counter("gatewayd_http_requests_total", "Requests handled.",
            {{"route", "orders"}, {"method", "POST"}, {"code", "201"}})
      .inc();
  r.gauge("gatewayd_active_connections", "Open downstream connections.").set(2.5);
  auto& h = r.histogram("gatewayd_upstream_duration_seconds", "Upstream latency.",
                        {{"service", "svc"}}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // on the bound: le is inclusive
  h.observe(0.5);
  h.observe(7);

  const std::string expected =
      "# HELP gatewayd_active_connections Open downstream connections.\n"
      "# TYPE gatewayd_active_connections gauge\n"
      "gatewayd_active_connections 2.5\n"
      "# HELP gatewayd_http_requests_total Requests handled.\n"
      "# TYPE gatewayd_http_requests_total counter\n"
      "gatewayd_http_requests_total{code=\"200\",method=\"GET\",route=\"users\"} 3\n"
      "gatewayd_http_requests_total{code=\"201\",method=\"POST\",route=\"orders\"} 1\n"
      "# HELP gatewayd_upstream_duration_seconds Upstream latency.\n"
      "# TYPE gatewayd_upstream_duration_seconds histogram\n"
      "gatewayd_upstream_duration_seconds_bucket{service=\"svc\",le=\"0.1\"} 2\n"
      "gatewayd_upstream_duration_seconds_bucket{service=\"svc\",le=\"1\"} 3\n"
      "gatewayd_upstream_duration_seconds_bucket{service=\"svc\",le=\"+Inf\"} 4\n"
      "gatewayd_upstream_duration_seconds_sum{service=\"svc\"} 7.65\n"
      "gatewayd_upstream_duration_seconds_count{service=\"svc\"} 4\n";
  EXPECT_EQ(r.render(), expected);
}

TEST(MetricsTest, SameSeriesRegardlessOfLabelOrder) {
  Registry r;
  auto& a = r.counter("c_total", "h", {{"a", "1"}, {"b", "2"}});
  auto& b = r.counter("c_total", "h", {{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Registry r;
  r.counter("esc_total", "line one\nback\\slash", {{"v", "a\\b\"c\nd"}}).inc();
  EXPECT_EQ(r.render(),
            "# HELP esc_total line one\\nback\\\\slash\n"
            "# TYPE esc_total counter\n"
            "esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsTest, TypeConflictIsAProgrammingError) {
  Registry r;
  r.counter("thing", "h");
  EXPECT_THROW(r.gauge("thing", "h"), std::logic_error);
  EXPECT_THROW(r.histogram("thing", "h"), std::logic_error);
  EXPECT_THROW(r.gauge_callback("thing", "h", {}, [] { return 1.0; }), std::logic_error);
  r.histogram("lat_seconds", "h");
  EXPECT_THROW(r.counter("lat_seconds_count", "h"), std::logic_error);
  r.gauge("q_sum", "h");
  EXPECT_THROW(r.histogram("q", "h"), std::logic_error);
}

TEST(MetricsTest, RejectsInvalidNames) {
  Registry r;
  EXPECT_THROW(r.counter("9bad", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("bad-name", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"bad-label", "x"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"__reserved", "x"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"a", "x"}, {"a", "y"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "h", {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h2_seconds", "h", {}, {1, 0.5}), std::invalid_argument);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInf) {
  Histogram h({1, 2, 3});
  for (const double v : {0.5, 1.0, 1.5, 2.0, 2.5, 3.5, 100.0}) h.observe(v);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{2, 4, 5, 7}));
  EXPECT_EQ(h.count(), 7u);
  EXPECT_DOUBLE_EQ(h.sum(), 111.0);
}

TEST(MetricsTest, HistogramDropsTrailingInfBound) {
  Registry r;
  auto& h = r.histogram("x_seconds", "h", {}, {0.5, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(h.bounds(), std::vector<double>{0.5});
  EXPECT_EQ(&h, &r.histogram("x_seconds", "h", {}, {0.5}));
  EXPECT_THROW(r.histogram("x_seconds", "h", {{"a", "b"}}, {0.25}), std::logic_error);
}

TEST(MetricsTest, DefaultLatencyBucketsAreIncreasing) {
  const auto& b = default_latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 30);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(MetricsTest, ConcurrentUpdatesSumCorrectly) {
  Registry r;
  auto& c = r.counter("conc_total", "h");
  auto& g = r.gauge("conc_gauge", "h");
  auto& h = r.histogram("conc_seconds", "h", {}, {0.5});
  constexpr int kThreads = 4;
  constexpr int kIterations = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        c.inc();
        g.add(0.5);
        g.dec();
        h.observe(0.25);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), std::uint64_t{kThreads} * kIterations);
  EXPECT_DOUBLE_EQ(g.value(), -0.5 * kThreads * kIterations);
  EXPECT_EQ(h.count(), std::uint64_t{kThreads} * kIterations);
  EXPECT_DOUBLE_EQ(h.sum(), 0.25 * kThreads * kIterations);
  EXPECT_EQ(h.cumulative_counts().front(), std::uint64_t{kThreads} * kIterations);
}

TEST(MetricsTest, CallbacksAreReadAtScrapeAndCanBeRemoved) {
  Registry r;
  double depth = 3;
  r.gauge_callback("queue_depth", "h", {{"q", "a"}}, [&] { return depth; });
  r.counter_callback("drops_total", "h", {}, [] { return 42.0; });
  depth = 7;
  EXPECT_NE(r.render().find("queue_depth{q=\"a\"} 7\n"), std::string::npos);
  EXPECT_NE(r.render().find("# TYPE drops_total counter\ndrops_total 42\n"), std::string::npos);
  // Replacing keeps one series.
  r.gauge_callback("queue_depth", "h", {{"q", "a"}}, [] { return 1.0; });
  EXPECT_NE(r.render().find("queue_depth{q=\"a\"} 1\n"), std::string::npos);
  EXPECT_TRUE(r.remove_callback("queue_depth", {{"q", "a"}}));
  EXPECT_FALSE(r.remove_callback("queue_depth", {{"q", "a"}}));
  EXPECT_EQ(r.render().find("queue_depth"), std::string::npos);
  // A stored counter is never removed.
  r.counter("kept_total", "h");
  EXPECT_FALSE(r.remove_callback("kept_total", {}));
}

TEST(MetricsTest, SpecialValuesUsePrometheusSpelling) {
  Registry r;
  r.gauge("g_inf", "h").set(std::numeric_limits<double>::infinity());
  r.gauge("g_nan", "h").set(std::nan(""));
  r.gauge_callback("g_throw", "h", {}, []() -> double { throw std::runtime_error("x"); });
  const auto text = r.render();
  EXPECT_NE(text.find("g_inf +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("g_nan NaN\n"), std::string::npos);
  EXPECT_NE(text.find("g_throw NaN\n"), std::string::npos);
}

TEST(MetricsTest, ProcessMetricsAndBuildInfo) {
  Registry r;
  register_process_metrics(r, "9.9.9-test");
  register_process_metrics(r, "9.9.9-test");  // idempotent
  const auto text = r.render();
  for (const char* name :
       {"process_resident_memory_bytes ", "process_open_fds ", "process_start_time_seconds ",
        "process_cpu_seconds_total ", "process_max_fds ", "process_virtual_memory_bytes "}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name;
  }
  EXPECT_NE(text.find("gatewayd_build_info{version=\"9.9.9-test\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("gatewayd_build_info{version=\"9.9.9-test\"} 1\ngatewayd_build_info"),
            std::string::npos);

  // Values are plausible: resident memory of a running test is more than a page.
  const auto pos = text.find("\nprocess_resident_memory_bytes ");
  const double rss = std::stod(text.substr(pos + 31));
  EXPECT_GT(rss, 4096.0);
  const auto start_pos = text.find("\nprocess_start_time_seconds ");
  const double start = std::stod(text.substr(start_pos + 28));
  EXPECT_GT(start, 1.5e9);
}

TEST(MetricsTest, GlobalRegistryHasProcessMetrics) {
  auto& g = Registry::global();
  EXPECT_EQ(&g, &Registry::global());
  const auto text = g.render();
  EXPECT_NE(text.find("# TYPE process_open_fds gauge"), std::string::npos);
  EXPECT_NE(text.find("gatewayd_build_info{version=\""), std::string::npos);
}

}  // namespace
}  // namespace gatewayd::metrics
