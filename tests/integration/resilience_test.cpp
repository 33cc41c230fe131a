// Fault injection against the real binary: endpoints killed, restarted, hung and failing, with
// the circuit breakers, retries, retry budget and load balancing wired into the proxy.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "support/fake_http_server.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string two_instance_services(const std::string& a, const std::string& b,
                                  const std::string& breaker = "") {
  return "services:\n  demo:\n    load_balancer: round_robin\n    instances:\n      - url: " + a +
         "\n      - url: " + b + "\n" + breaker;
}

std::string one_instance_services(const std::string& url, const std::string& extra = "") {
  return "services:\n  demo:\n    instances:\n      - url: " + url + "\n" + extra;
}

const char* kRoutes = R"(routes:
  - path: /r/**
    service: demo
    methods: [GET, POST]
    auth_required: false
    strip_prefix: true
    timeout: 2
    retry:
      count: 2
      backoff_base: 0.01
      backoff_max: 0.05
  - path: /post-retry/**
    service: demo
    methods: [POST]
    auth_required: false
    strip_prefix: true
    retry:
      count: 2
      non_idempotent: true
      backoff_base: 0.01
  - path: /slow/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
    timeout: 0.3
    retry: 0
)";

HttpRequestSpec get(const std::string& target) {
  HttpRequestSpec spec;
  spec.target = target;
  return spec;
}

HttpRequestSpec post(const std::string& target, const std::string& body) {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.target = target;
  spec.body = body;
  return spec;
}

FakeResponse status_only(unsigned status) {
  FakeResponse res;
  res.status = status;
  res.body = R"({"error":"overloaded"})";
  return res;
}

// The upstream that served a demo response ("service" is the demo upstream's name).
std::string served_by(const HttpResponse& res) {
  try {
    return json::parse(res.body).value("service", "");
  } catch (const std::exception&) {
    return "";
  }
}

TEST(Resilience, KilledEndpointUnderLoadCostsNoIdempotentRequest) {
  DemoUpstream a{"a"}, b{"b"};
  GatewayProcess gateway{{kRoutes, two_instance_services(a.url(), b.url()), {}, 2, true}};

  constexpr int kThreads = 4, kPerThread = 150;
  std::atomic<int> done{0}, failed{0}, served_a{0}, served_b{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&] {
      std::optional<HttpConnection> conn;
      conn.emplace(gateway.port());
      for (int i = 0; i < kPerThread; ++i) {
        auto res = conn->request(get("/r/hello"));
        if (res.status == 0) {  // a closed keep-alive connection, not a failed request
          conn.emplace(gateway.port());
          res = conn->request(get("/r/hello"));
        }
        if (res.status != 200) {
          ++failed;
        } else {
          (served_by(res) == "a" ? served_a : served_b)++;
        }
        if (++done == kThreads * kPerThread / 3 && !killed.exchange(true)) a.stop();
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0) << gateway.output();
  EXPECT_GT(served_a.load(), 0);
  EXPECT_GT(served_b.load(), kThreads * kPerThread / 2);

  // The dead endpoint's breaker is open: the metrics say so.
  const auto metrics = http_get(gateway.port(), "/metrics");
  EXPECT_NE(metrics.body.find("gatewayd_circuit_state{"), std::string::npos);
  EXPECT_NE(metrics.body.find("gatewayd_retries_total{"), std::string::npos);
}

TEST(Resilience, AllEndpointsDownAnswerFast503AndRecoveryClosesTheBreaker) {
  DemoUpstream a{"a"};
  const std::string breaker =
      "    circuit_breaker:\n      failure_threshold: 3\n      open_timeout: 1\n"
      "      success_threshold: 1\n";
  GatewayProcess gateway{{kRoutes, one_instance_services(a.url(), breaker), {}, 1, true}};
  ASSERT_EQ(http_get(gateway.port(), "/r/hello").status, 200u);
  a.stop();

  // The first failures are gateway errors (connection refused); then the breaker opens and the
  // gateway stops trying: 503 without a connect attempt.
  std::vector<double> fast_ms;
  unsigned unavailable = 0;
  for (int i = 0; i < 60; ++i) {
    const auto started = std::chrono::steady_clock::now();
    const auto res = http_get(gateway.port(), "/r/hello");
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    ASSERT_TRUE(res.status == 502 || res.status == 503) << res.status << res.body;
    if (res.status == 503) {
      ++unavailable;
      fast_ms.push_back(ms);
      const auto code = json::parse(res.body)["error"]["code"].get<std::string>();
      EXPECT_TRUE(code == "UPSTREAM_UNAVAILABLE" || code == "CIRCUIT_OPEN") << code;
    }
  }
  EXPECT_GE(unavailable, 50u);
  std::sort(fast_ms.begin(), fast_ms.end());
  if (!fast_ms.empty()) {
    // Reported, not asserted: timings belong to benchmarks.
    std::printf("[ measure  ] open-circuit 503 p99 %.3f ms over %zu requests\n",
                fast_ms[fast_ms.size() * 99 / 100 == fast_ms.size() ? fast_ms.size() - 1
                                                                    : fast_ms.size() * 99 / 100],
                fast_ms.size());
  }

  // Back up: after the open timeout a half-open probe goes through and closes the breaker.
  a.start();
  EXPECT_TRUE(eventually([&] { return http_get(gateway.port(), "/r/hello").status == 200; }))
      << gateway.output();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(http_get(gateway.port(), "/r/hello").status, 200u);
}

TEST(Resilience, HungUpstreamGives504AtTheRouteTimeoutAndCountsForTheBreaker) {
  DemoUpstream a{"a"};
  const std::string breaker =
      "    circuit_breaker:\n      failure_threshold: 2\n      open_timeout: 30\n";
  GatewayProcess gateway{{kRoutes, one_instance_services(a.url(), breaker), {}, 1, true}};
  for (int i = 0; i < 2; ++i) {
    const auto res = http_get(gateway.port(), "/slow/delay/5000");
    ASSERT_EQ(res.status, 504u) << res.body;
    EXPECT_EQ(json::parse(res.body)["error"]["code"], "UPSTREAM_TIMEOUT");
  }
  // Two timeouts opened the breaker: even a fast path is refused now without an attempt.
  const auto res = http_get(gateway.port(), "/r/hello");
  EXPECT_EQ(res.status, 503u) << res.body;
}

// An upstream that always answers 503 and counts what it receives.
struct FailingUpstream {
  std::atomic<std::uint64_t> posts{0};
  FakeHttpServer server{[this](FakeRequest req) -> boost::asio::awaitable<FakeResponse> {
    if (req.method == "POST") ++posts;
    co_return status_only(503);
  }};
  std::string url() const { return "http://" + server.address(); }
};

TEST(Resilience, PostIsRetriedOnlyWhenTheRouteAllowsIt) {
  FailingUpstream up;
  const std::string no_breaker = "    circuit_breaker:\n      enabled: false\n";
  GatewayProcess gateway{{kRoutes, one_instance_services(up.url(), no_breaker), {}, 1, true}};

  auto res = http_request(gateway.port(), post("/r/x", "{}"));
  EXPECT_EQ(res.status, 503u);
  EXPECT_EQ(up.posts.load(), 1u) << "a POST must not be retried without the route's opt-in";

  res = http_request(gateway.port(), post("/post-retry/x", "{}"));
  EXPECT_EQ(res.status, 503u);
  EXPECT_EQ(up.posts.load(), 1u + 3u) << "opted-in POST: one attempt plus two retries";
}

TEST(Resilience, RetryBudgetBoundsTrafficToAFailingUpstream) {
  std::atomic<std::uint64_t> received{0};
  FakeHttpServer server{[&](FakeRequest) -> boost::asio::awaitable<FakeResponse> {
    ++received;
    co_return status_only(503);
  }};
  // Neither the breaker nor outlier ejection may stop the traffic: only the budget is measured.
  const std::string no_breaker =
      "    circuit_breaker:\n      enabled: false\n    outlier_detection:\n      enabled: false\n";
  GatewayProcess gateway{{kRoutes,
                          one_instance_services("http://" + server.address(), no_breaker),
                          {{"RETRY_BUDGET_PERCENT", "20"}, {"RETRY_BUDGET_MIN_PER_SECOND", "1"}},
                          1,
                          true}};
  constexpr std::uint64_t kRequests = 300;
  const auto started = std::chrono::steady_clock::now();
  HttpConnection conn(gateway.port());
  for (std::uint64_t i = 0; i < kRequests; ++i) {
    const auto res = conn.request(get("/r/x"));
    ASSERT_EQ(res.status, 503u) << i << " " << res.body
                                << gateway.dir().read_file("logs/error.log");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Without a budget: 3 attempts per request (900). With it: the requests, 20% of them as
  // retries, and the per-second floor for the run's duration (plus one window of slack).
  const double bound = kRequests * 1.2 + 1.0 * (seconds + 10.0) + 1;
  EXPECT_LE(static_cast<double>(received.load()), bound) << "received " << received.load();
  EXPECT_GT(received.load(), kRequests) << "some retries are still allowed";
}

TEST(Resilience, BreakerStateSurvivesAReload) {
  DemoUpstream a{"a"};
  const std::string breaker =
      "    circuit_breaker:\n      failure_threshold: 2\n      open_timeout: 60\n";
  GatewayProcess gateway{{kRoutes, one_instance_services(a.url(), breaker), {}, 1, true}};
  a.stop();
  for (int i = 0; i < 4; ++i) http_get(gateway.port(), "/r/hello");
  a.start();
  // Open for 60 s: the restarted upstream gets nothing, before and after a reload.
  EXPECT_EQ(http_get(gateway.port(), "/r/hello").status, 503u);
  HttpRequestSpec reload = post("/admin/reload", "");
  reload.headers.emplace_back("Authorization",
                              std::string("Bearer ") + GatewayProcess::kAdminToken);
  ASSERT_EQ(http_request(gateway.admin_port(), reload).status, 200u);
  EXPECT_EQ(http_get(gateway.port(), "/r/hello").status, 503u);
}

TEST(Resilience, ReadyRequiresAHealthyEndpointOfCriticalServices) {
  DemoUpstream a{"a"};
  const std::string checked =
      "    health_check:\n      path: /health\n      interval: 0.2\n      timeout: 0.2\n"
      "      healthy_threshold: 1\n      unhealthy_threshold: 1\n";
  GatewayProcess gateway{{kRoutes,
                          one_instance_services(a.url(), checked),
                          {{"READY_REQUIRED_SERVICES", "demo"}},
                          1,
                          true}};
  EXPECT_TRUE(eventually([&] { return http_get(gateway.port(), "/ready").status == 200; }));

  // The active health check marks the only endpoint down: /ready says which service is missing.
  a.stop();
  HttpResponse ready;
  EXPECT_TRUE(eventually([&] {
    ready = http_get(gateway.port(), "/ready");
    return ready.status == 503;
  }));
  EXPECT_NE(ready.body.find("service:demo"), std::string::npos) << ready.body;

  a.start();
  EXPECT_TRUE(eventually([&] { return http_get(gateway.port(), "/ready").status == 200; }))
      << http_get(gateway.port(), "/ready").body;
}

}  // namespace
}  // namespace gatewayd::test
