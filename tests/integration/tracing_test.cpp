// W3C trace context through the real binary, and the server spans it exports over OTLP/HTTP to
// a collector (a fake that records what it receives, shaped like the OTLP/HTTP JSON receiver).
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/fake_http_server.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"

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

  // The exported span of `trace_id`, waiting for the exporter's next batch.
  std::optional<json> span_of(const std::string& trace_id) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& s : spans_) {
          if (s.value("traceId", "") == trace_id) return s;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::vector<json> spans_;
  FakeHttpServer server_;
};

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

  // The upstream sees the same trace with the gateway's span as its parent.
  const auto sent = upstream_header(res, "traceparent");
  ASSERT_TRUE(sent) << res.body << gateway.dir().read_file("logs/application.log");
  ASSERT_EQ(sent->size(), 55u);
  EXPECT_EQ(sent->substr(3, 32), trace_id);
  const std::string gateway_span = sent->substr(36, 16);
  EXPECT_NE(gateway_span, caller_span);
  EXPECT_EQ(sent->substr(53), "01") << "the caller's sampling decision is kept";
  EXPECT_EQ(upstream_header(res, "tracestate"), "vendor=opaque");

  // The server span reaches the collector even though the root ratio is 0: parent-based.
  const auto span = collector.span_of(trace_id);
  ASSERT_TRUE(span) << gateway.output();
  EXPECT_EQ((*span)["spanId"], gateway_span);
  EXPECT_EQ((*span)["parentSpanId"], caller_span);
  EXPECT_EQ((*span)["kind"], 2);  // SERVER
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

}  // namespace
}  // namespace gatewayd::test
