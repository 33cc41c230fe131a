#include "observability/span_exporter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>

#include "support/free_port.hpp"
#include "unit/observability/fake_collector.hpp"

namespace gatewayd::tracing {
namespace {

using nlohmann::json;
using test::FakeCollector;
using namespace std::chrono_literals;

Span make_span(const TraceContext& ctx, std::string name, SpanKind kind = SpanKind::kServer) {
  auto s = Span::start(std::move(name), kind, ctx);
  s.set("http.request.method", "GET");
  s.set("http.response.status_code", 200);
  s.end();
  return s;
}

std::size_t spans_received(const FakeCollector& c) {
  std::size_t n = 0;
  for (const auto& r : c.requests()) {
    const auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) continue;
    n += j["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
  }
  return n;
}

TEST(OtlpEndpointTest, ParsesBaseUrls) {
  auto ep = parse_otlp_endpoint("http://collector:4318");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "collector");
  EXPECT_EQ(ep->port, 4318);
  EXPECT_EQ(ep->target, "/v1/traces");
  EXPECT_EQ(ep->host_header, "collector:4318");

  ep = parse_otlp_endpoint(" HTTP://10.0.0.1/base/ ");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, 80);
  EXPECT_EQ(ep->target, "/base/v1/traces");

  ep = parse_otlp_endpoint("http://[::1]:4318/");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->target, "/v1/traces");

  ep = parse_otlp_endpoint("http://jaeger:4318/custom/traces", false);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->target, "/custom/traces");

  for (const char* bad : {"", "collector:4318", "https://collector:4318", "http://", "http://:80",
                          "http://user:pw@collector:4318", "http://h:0", "http://h:70000",
                          "http://h:12x", "http://[::1", "http://a:b:c"}) {
    EXPECT_FALSE(parse_otlp_endpoint(bad).has_value()) << bad;
  }
}

TEST(SpanExporterTest, RejectsUnusableEndpoint) {
  ExporterOptions opts;
  opts.endpoint = "https://collector:4318";
  EXPECT_THROW(SpanExporter{opts}, std::invalid_argument);
}

TEST(SpanExporterTest, ExportsBatchesToCollector) {
  FakeCollector collector(FakeCollector::Mode::kOk);
  metrics::Registry registry;
  ExporterOptions opts;
  opts.endpoint = collector.url() + "/otlp/";
  opts.max_batch = 3;
  opts.batch_delay = 50ms;
  opts.registry = &registry;
  opts.resource.service_instance_id = "node-7";
  SpanExporter exporter(opts);

  const auto server = start_trace("", "", Sampler(1.0));
  const auto client = server.child();
  EXPECT_TRUE(exporter.submit(make_span(server, "GET /items")));
  EXPECT_TRUE(exporter.submit(make_span(client, "upstream", SpanKind::kClient)));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(exporter.submit(make_span(start_trace("", "", Sampler(1.0)), "other")));
  }
  ASSERT_TRUE(FakeCollector::eventually([&] { return exporter.stats().exported == 5; }));
  EXPECT_EQ(spans_received(collector), 5u);
  EXPECT_EQ(exporter.stats().failed, 0u);
  EXPECT_GE(exporter.stats().requests, 2u);  // at most 3 spans per request

  const auto requests = collector.requests();
  ASSERT_FALSE(requests.empty());
  std::set<std::string> span_ids;
  std::string server_span_id, client_parent_id;
  for (const auto& r : requests) {
    EXPECT_EQ(r.target, "/otlp/v1/traces");
    EXPECT_EQ(r.content_type, "application/json");
    const auto j = json::parse(r.body);
    const auto& rs = j["resourceSpans"][0];
    EXPECT_EQ(rs["resource"]["attributes"][0]["key"], "service.name");
    EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "gatewayd");
    EXPECT_EQ(rs["scopeSpans"][0]["scope"]["name"], "gatewayd");
    const auto& spans = rs["scopeSpans"][0]["spans"];
    EXPECT_LE(spans.size(), 3u);
    for (const auto& s : spans) {
      span_ids.insert(s["spanId"].get<std::string>());
      if (s["name"] == "GET /items") server_span_id = s["spanId"];
      if (s["name"] == "upstream") {
        client_parent_id = s["parentSpanId"];
        EXPECT_EQ(s["traceId"], server.trace_id.hex());
        EXPECT_EQ(s["kind"], 3);
      }
    }
  }
  EXPECT_EQ(span_ids.size(), 5u);
  EXPECT_EQ(server_span_id, server.span_id.hex());
  EXPECT_EQ(client_parent_id, server_span_id);
  EXPECT_NE(registry.render().find("gatewayd_tracing_spans_exported_total 5\n"), std::string::npos);
}

TEST(SpanExporterTest, ShutdownFlushesWhatIsQueued) {
  FakeCollector collector(FakeCollector::Mode::kOk);
  metrics::Registry registry;
  ExporterOptions opts;
  opts.endpoint = collector.url();
  opts.batch_delay = std::chrono::hours(1);  // only shutdown sends these
  opts.registry = &registry;
  SpanExporter exporter(opts);
  for (int i = 0; i < 4; ++i) exporter.submit(make_span(start_trace("", "", Sampler(1.0)), "s"));
  exporter.shutdown();
  EXPECT_EQ(exporter.stats().exported, 4u);
  EXPECT_EQ(spans_received(collector), 4u);
  EXPECT_FALSE(exporter.submit(make_span(start_trace("", "", Sampler(1.0)), "late")));
  EXPECT_EQ(exporter.stats().dropped, 1u);
  exporter.shutdown();  // idempotent
}

TEST(SpanExporterTest, CollectorErrorsAreCountedAsFailed) {
  FakeCollector collector(FakeCollector::Mode::kServerError);
  metrics::Registry registry;
  ExporterOptions opts;
  opts.endpoint = collector.url();
  opts.max_batch = 2;
  opts.batch_delay = 20ms;
  opts.registry = &registry;
  SpanExporter exporter(opts);
  exporter.submit(make_span(start_trace("", "", Sampler(1.0)), "a"));
  exporter.submit(make_span(start_trace("", "", Sampler(1.0)), "b"));
  ASSERT_TRUE(FakeCollector::eventually([&] { return exporter.stats().failed == 2; }));
  EXPECT_EQ(exporter.stats().exported, 0u);
  EXPECT_NE(registry.render().find("gatewayd_tracing_spans_failed_total 2\n"), std::string::npos);
}

TEST(SpanExporterTest, CollectorDownIsCountedAsFailed) {
  metrics::Registry registry;
  ExporterOptions opts;
  opts.endpoint = "http://127.0.0.1:" + std::to_string(test::free_port());  // nothing listens
  opts.max_batch = 1;
  opts.batch_delay = 20ms;
  opts.registry = &registry;
  SpanExporter exporter(opts);
  EXPECT_TRUE(exporter.submit(make_span(start_trace("", "", Sampler(1.0)), "a")));
  ASSERT_TRUE(FakeCollector::eventually([&] { return exporter.stats().failed == 1; }));
  EXPECT_EQ(exporter.stats().exported, 0u);
}

TEST(SpanExporterTest, HungCollectorNeverBlocksSubmitAndShutdownAborts) {
  FakeCollector collector(FakeCollector::Mode::kHang);
  metrics::Registry registry;
  ExporterOptions opts;
  opts.endpoint = collector.url();
  opts.max_queue = 4;
  opts.max_batch = 2;
  opts.batch_delay = 20ms;
  opts.request_timeout = std::chrono::minutes(10);  // only shutdown can end the request
  opts.shutdown_timeout = 200ms;
  opts.registry = &registry;
  auto exporter = std::make_unique<SpanExporter>(opts);

  // A full batch goes out at once and the collector sits on it.
  exporter->submit(make_span(start_trace("", "", Sampler(1.0)), "first"));
  exporter->submit(make_span(start_trace("", "", Sampler(1.0)), "second"));
  ASSERT_TRUE(FakeCollector::eventually([&] { return collector.requests().size() == 1; }));
  ASSERT_TRUE(FakeCollector::eventually([&] { return exporter->queued() == 0; }));

  // The queue fills to its bound; everything past it is dropped and counted, without waiting.
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    accepted += exporter->submit(make_span(start_trace("", "", Sampler(1.0)), "more")) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(exporter->stats().dropped, 6u);
  EXPECT_NE(registry.render().find("gatewayd_tracing_spans_dropped_total 6\n"), std::string::npos);

  // Shutdown gives up on the hung request after shutdown_timeout instead of request_timeout.
  const auto started = std::chrono::steady_clock::now();
  exporter->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::minutes(5));
  const auto stats = exporter->stats();
  EXPECT_EQ(stats.exported, 0u);
  EXPECT_EQ(stats.failed, 6u);  // the aborted batch and the spans still queued
  exporter.reset();
}

}  // namespace
}  // namespace gatewayd::tracing
