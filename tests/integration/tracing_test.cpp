// W3C trace context through the real binary, and the server spans it exports over OTLP/HTTP to
// a collector (a fake that records what it receives, shaped like the OTLP/HTTP JSON receiver).
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/fake_http_server.hpp"
#include "support/free_port.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class Collector {
 public:
  Collector()
      : server_([this](FakeRequest req) -> boost::asio::awaitable<FakeResponse> {
          FakeResponse res;
          if (req.method == "POST" && req.path == "/v1/traces") {
            std::lock_guard lock(mutex_);
            const json body = json::parse(req.body);
            for (const auto& rs : body["resourceSpans"]) {
              for (const auto& ss : rs["scopeSpans"]) {
                for (const auto& span : ss["spans"]) spans_.push_back(span);
              }
            }
            res.body = "{}";
          } else {
            res.status = 404;
          }
          co_return res;
        }) {}

  std::string url() const { return "http://" + server_.address(); }

  // The exported span of `trace_id` and `kind` (2 server, 3 client), waiting for the
  // exporter's next batch.
  std::optional<json> span_of(const std::string& trace_id, int kind = 2) {
    auto spans = spans_of(trace_id, kind, 1);
    if (spans.empty()) return std::nullopt;
    return spans.front();
  }

  // The spans of `trace_id` and `kind` once there are at least `count` of them (or what there
  // is after 15 s), in arrival order.
  std::vector<json> spans_of(const std::string& trace_id, int kind, std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    std::vector<json> found;
    while (std::chrono::steady_clock::now() < deadline) {
      found.clear();
      {
        std::lock_guard lock(mutex_);
        for (const auto& s : spans_) {
          if (s.value("traceId", "") == trace_id && s.value("kind", 0) == kind) {
            found.push_back(s);
          }
        }
      }
      if (found.size() >= count) break;
      std::this_thread::sleep_for(50ms);
    }
    return found;
  }

  std::size_t spans_with_trace(const std::string& trace_id) {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(spans_.begin(), spans_.end(), [&](const json& s) {
      return s.value("traceId", "") == trace_id;
    }));
  }

 private:
  std::mutex mutex_;
  std::vector<json> spans_;
  FakeHttpServer server_;
};

// The value of an OTLP attribute of `span` (its AnyValue object), null when absent.
json attribute(const json& span, const std::string& key) {
  for (const auto& a : span.value("attributes", json::array())) {
    if (a.value("key", "") == key) return a["value"];
  }
  return nullptr;
}
std::string string_attribute(const json& span, const std::string& key) {
  const json v = attribute(span, key);
  return v.is_object() ? v.value("stringValue", "") : "";
}
// OTLP JSON carries 64-bit integers as strings.
std::optional<std::int64_t> int_attribute(const json& span, const std::string& key) {
  const json v = attribute(span, key);
  if (!v.is_object() || !v.contains("intValue")) return std::nullopt;
  const json& i = v["intValue"];
  return i.is_string() ? std::stoll(i.get<std::string>()) : i.get<std::int64_t>();
}

std::optional<std::string> upstream_header(const HttpResponse& res, const std::string& name) {
  const json body = json::parse(res.body);  // named: a temporary would end before the loop
  for (const auto& pair : body["headers"]) {
    if (pair[0].get<std::string>() == name) return pair[1].get<std::string>();
  }
  return std::nullopt;
}

const char* kRoutes = R"(routes:
  - path: /t/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
)";

TEST(Tracing, ContinuesTheCallersTraceAndExportsTheServerSpan) {
  Collector collector;
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{
      {kRoutes,
       "services:\n  demo:\n    instances:\n      - url: " + upstream.url() + "\n",
       {{"TRACING_ENABLED", "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()},
        {"TRACING_SAMPLE_RATIO", "0"}},
       1,
       true}};
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller_span = "00f067aa0ba902b7";
  const auto res = http_get(gateway.port(), "/t/echo",
                            {{"traceparent", "00-" + trace_id + "-" + caller_span + "-01"},
                             {"tracestate", "vendor=opaque"}});
  ASSERT_EQ(res.status, 200u) << res.body;

  // The upstream sees the same trace with the gateway's attempt span as its parent.
  const auto sent = upstream_header(res, "traceparent");
  ASSERT_TRUE(sent) << res.body << gateway.dir().read_file("logs/application.log");
  ASSERT_EQ(sent->size(), 55u);
  EXPECT_EQ(sent->substr(3, 32), trace_id);
  const std::string sent_parent = sent->substr(36, 16);
  EXPECT_NE(sent_parent, caller_span);
  EXPECT_EQ(sent->substr(53), "01") << "the caller's sampling decision is kept";
  EXPECT_EQ(upstream_header(res, "tracestate"), "vendor=opaque");

  // The server span reaches the collector even though the root ratio is 0: parent-based.
  const auto span = collector.span_of(trace_id);
  ASSERT_TRUE(span) << gateway.output();
  EXPECT_EQ((*span)["parentSpanId"], caller_span);
  EXPECT_EQ((*span)["kind"], 2);  // SERVER
  const std::string server_span = (*span)["spanId"];
  EXPECT_NE(server_span, sent_parent);

  // One client span for the one attempt: child of the server span, and the parent the upstream
  // was told about.
  const auto client = collector.spans_of(trace_id, 3, 1);
  ASSERT_EQ(client.size(), 1u) << gateway.output();
  EXPECT_EQ(client[0]["spanId"], sent_parent);
  EXPECT_EQ(client[0]["parentSpanId"], server_span);
  EXPECT_EQ(client[0]["name"], "GET demo");
  EXPECT_EQ(string_attribute(client[0], "gatewayd.service"), "demo");
  EXPECT_EQ(string_attribute(client[0], "http.route"), "/t/**");
  EXPECT_EQ(string_attribute(client[0], "gatewayd.route"), "GET /t/**");
  EXPECT_EQ(string_attribute(client[0], "gatewayd.endpoint"),
            "127.0.0.1:" + std::to_string(upstream.port()));
  EXPECT_EQ(int_attribute(client[0], "server.port"), upstream.port());
  EXPECT_EQ(int_attribute(client[0], "http.response.status_code"), 200);
  EXPECT_EQ(int_attribute(client[0], "gatewayd.retry"), 0);
  EXPECT_TRUE(attribute(client[0], "error.type").is_null());
}

TEST(Tracing, StartsATraceWhenTheCallerSentNone) {
  Collector collector;
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{
      {kRoutes,
       "services:\n  demo:\n    instances:\n      - url: " + upstream.url() + "\n",
       {{"TRACING_ENABLED", "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()},
        {"TRACING_SAMPLE_RATIO", "1"}},
       1,
       true}};
  const auto res = http_get(gateway.port(), "/t/echo", {{"traceparent", "garbage"}});
  ASSERT_EQ(res.status, 200u);
  const auto sent = upstream_header(res, "traceparent");
  ASSERT_TRUE(sent) << res.body << gateway.dir().read_file("logs/application.log");
  ASSERT_EQ(sent->size(), 55u);
  const std::string trace_id = sent->substr(3, 32);
  const auto span = collector.span_of(trace_id);
  ASSERT_TRUE(span) << gateway.output();
  EXPECT_FALSE(span->contains("parentSpanId") &&
               !(*span)["parentSpanId"].get<std::string>().empty());
}

TEST(Tracing, EachUpstreamAttemptIsAClientSpanAndTheParentOfWhatItSends) {
  Collector collector;
  // Answers 503 to the first request, then 200 with the traceparent it received.
  std::atomic<int> calls{0};
  FakeHttpServer upstream([&](FakeRequest req) -> boost::asio::awaitable<FakeResponse> {
    FakeResponse res;
    if (calls.fetch_add(1) == 0) {
      res.status = 503;
      res.body = "{}";
    } else {
      res.body = json{{"traceparent", req.header("traceparent")}}.dump();
    }
    co_return res;
  });
  GatewayProcess gateway{
      {R"(routes:
  - path: /r
    service: flaky
    auth_required: false
    retry:
      count: 1
      backoff_base: 0
)",
       "services:\n  flaky:\n    instances:\n      - url: http://" + upstream.address() + "\n",
       {{"TRACING_ENABLED", "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()},
        {"TRACING_SAMPLE_RATIO", "1"}},
       1,
       true}};
  const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
  const auto res =
      http_get(gateway.port(), "/r", {{"traceparent", "00-" + trace_id + "-b7ad6b7169203331-01"}});
  ASSERT_EQ(res.status, 200u) << res.body;
  ASSERT_EQ(calls.load(), 2);
  const std::string sent = json::parse(res.body)["traceparent"];
  ASSERT_EQ(sent.size(), 55u);

  const auto server = collector.span_of(trace_id);
  ASSERT_TRUE(server) << gateway.output();
  auto attempts = collector.spans_of(trace_id, 3, 2);
  ASSERT_EQ(attempts.size(), 2u) << gateway.output();
  std::sort(attempts.begin(), attempts.end(), [](const json& a, const json& b) {
    return int_attribute(a, "gatewayd.retry") < int_attribute(b, "gatewayd.retry");
  });
  for (const auto& a : attempts) {
    EXPECT_EQ(a["parentSpanId"], (*server)["spanId"]);
    EXPECT_EQ(string_attribute(a, "gatewayd.service"), "flaky");
    EXPECT_EQ(string_attribute(a, "gatewayd.endpoint"), upstream.address());
  }
  EXPECT_NE(attempts[0]["spanId"], attempts[1]["spanId"]);
  EXPECT_EQ(int_attribute(attempts[0], "gatewayd.retry"), 0);
  EXPECT_EQ(int_attribute(attempts[0], "http.response.status_code"), 503);
  EXPECT_EQ(string_attribute(attempts[0], "error.type"), "503");
  EXPECT_EQ(attempts[0]["status"]["code"], 2);  // ERROR
  EXPECT_EQ(int_attribute(attempts[1], "gatewayd.retry"), 1);
  EXPECT_EQ(int_attribute(attempts[1], "http.request.resend_count"), 1);
  EXPECT_EQ(int_attribute(attempts[1], "http.response.status_code"), 200);
  EXPECT_TRUE(attribute(attempts[1], "error.type").is_null());
  // The second attempt's request named the second attempt's span.
  EXPECT_EQ(sent.substr(3, 32), trace_id);
  EXPECT_EQ(sent.substr(36, 16), attempts[1]["spanId"]);
}

TEST(Tracing, ErrorBodiesAndTheAccessLogCarryTheTraceId) {
  Collector collector;
  const std::uint16_t dead_port = free_port();  // nothing listens there
  GatewayProcess gateway{{R"(routes:
  - path: /dead
    service: dead
    auth_required: false
)",
                          "services:\n  dead:\n    instances:\n      - url: http://127.0.0.1:" +
                              std::to_string(dead_port) + "\n",
                          {{"TRACING_ENABLED", "true"},
                           {"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()},
                           {"TRACING_SAMPLE_RATIO", "1"}},
                          1,
                          true}};
  const std::string trace_id = "5bf92f3577b34da6a3ce929d0e0e4737";
  const auto res = http_get(gateway.port(), "/dead",
                            {{"traceparent", "00-" + trace_id + "-00f067aa0ba902b7-01"}});
  ASSERT_EQ(res.status, 502u) << res.body;
  const json body = json::parse(res.body);
  EXPECT_EQ(body["error"]["code"], "BAD_GATEWAY");
  EXPECT_EQ(body["trace_id"], trace_id);
  EXPECT_EQ(body["request_id"], res.header("X-Request-Id"));

  // The failed attempt is a client span naming the error.
  const auto attempt = collector.span_of(trace_id, 3);
  ASSERT_TRUE(attempt) << gateway.output();
  EXPECT_EQ(string_attribute(*attempt, "error.type"), "BAD_GATEWAY");
  EXPECT_EQ((*attempt)["status"]["code"], 2);
  EXPECT_TRUE(attribute(*attempt, "http.response.status_code").is_null());

  // A trace started here: the 404's body names the new trace.
  const auto missing = http_get(gateway.port(), "/nowhere");
  ASSERT_EQ(missing.status, 404u);
  const std::string new_trace = json::parse(missing.body).value("trace_id", "");
  EXPECT_EQ(new_trace.size(), 32u) << missing.body;
  EXPECT_NE(new_trace, trace_id);

  // The access log line of the 502 names the trace too.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string log;
  while (std::chrono::steady_clock::now() < deadline) {
    log = gateway.dir().read_file("logs/access.log");
    if (log.find(trace_id) != std::string::npos && log.find(new_trace) != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(log.find("\"trace_id\":\"" + trace_id + "\""), std::string::npos) << log;
}

TEST(Tracing, UnsampledRequestsExportNothingAndPassTheServerSpanOn) {
  Collector collector;
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{
      {kRoutes,
       "services:\n  demo:\n    instances:\n      - url: " + upstream.url() + "\n",
       {{"TRACING_ENABLED", "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()},
        {"TRACING_SAMPLE_RATIO", "1"}},
       1,
       true}};
  const std::string unsampled = "6bf92f3577b34da6a3ce929d0e0e4738";
  const auto res = http_get(gateway.port(), "/t/echo",
                            {{"traceparent", "00-" + unsampled + "-00f067aa0ba902b7-00"}});
  ASSERT_EQ(res.status, 200u);
  const auto sent = upstream_header(res, "traceparent");
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->substr(3, 32), unsampled);
  EXPECT_EQ(sent->substr(53), "00");

  // A sampled request afterwards: once its spans arrived, the unsampled ones would have too.
  const std::string sampled = "7bf92f3577b34da6a3ce929d0e0e4739";
  ASSERT_EQ(http_get(gateway.port(), "/t/echo",
                     {{"traceparent", "00-" + sampled + "-00f067aa0ba902b7-01"}})
                .status,
            200u);
  ASSERT_EQ(collector.spans_of(sampled, 3, 1).size(), 1u);
  ASSERT_TRUE(collector.span_of(sampled, 2));
  EXPECT_EQ(collector.spans_with_trace(unsampled), 0u);
}

// A counter's value in the Prometheus text of /metrics (0 when absent).
double metric_value(std::uint16_t port, const std::string& name) {
  const auto res = http_get(port, "/metrics");
  std::size_t pos = 0;
  while ((pos = res.body.find(name, pos)) != std::string::npos) {
    const bool line_start = pos == 0 || res.body[pos - 1] == '\n';
    const std::size_t after = pos + name.size();
    if (line_start && after < res.body.size() && (res.body[after] == ' ')) {
      return std::stod(res.body.substr(after + 1, res.body.find('\n', after) - after - 1));
    }
    pos = after;
  }
  return 0;
}

TEST(Tracing, AHungCollectorCostsSpansNotRequests) {
  // The collector accepts connections and reads requests but never answers.
  std::atomic<int> posts{0};
  FakeHttpServer collector([&](FakeRequest) -> boost::asio::awaitable<FakeResponse> {
    posts.fetch_add(1);
    boost::asio::steady_timer forever(co_await boost::asio::this_coro::executor, 1h);
    co_await forever.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return FakeResponse{};
  });
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{
      {kRoutes,
       "services:\n  demo:\n    instances:\n      - url: " + upstream.url() + "\n",
       {{"TRACING_ENABLED", "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + collector.address()},
        {"TRACING_SAMPLE_RATIO", "1"}},
       2,
       true}};

  // Bursts of concurrent keep-alive clients until the exporter's queue overflows. Every request
  // of every burst must succeed.
  constexpr int kClients = 8;
  constexpr int kPerClient = 250;
  std::atomic<int> failed{0}, done{0};
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  double dropped = 0;
  int bursts = 0;
  while (dropped == 0 && std::chrono::steady_clock::now() < deadline) {
    ++bursts;
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        HttpConnection conn(gateway.port());
        for (int i = 0; i < kPerClient; ++i) {
          HttpRequestSpec spec;
          spec.target = "/t/hello";
          const auto r = conn.request(spec);
          if (r.status != 200) failed.fetch_add(1);
          done.fetch_add(1);
        }
      });
    }
    for (auto& t : clients) t.join();
    dropped = metric_value(gateway.port(), "gatewayd_tracing_spans_dropped_total");
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(done.load(), bursts * kClients * kPerClient);
  EXPECT_GT(dropped, 0) << "after " << bursts << " bursts";
  EXPECT_GE(posts.load(), 1) << "the exporter reached the collector";
  // Still serving after the overflow.
  EXPECT_EQ(http_get(gateway.port(), "/t/hello").status, 200u);
  // The hung export does not hold up shutdown either.
  EXPECT_TRUE(gateway.stop().success()) << gateway.output();
}

}  // namespace
}  // namespace gatewayd::test
