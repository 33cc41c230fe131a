#include "observability/otlp_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <vector>

namespace gatewayd::tracing {
namespace {

using nlohmann::json;

TraceId trace_id() {
  return *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(OtlpJsonTest, ExactShapeForOneSpan) {
  Span s;
  s.name = "GET items";
  s.trace_id = trace_id();
  s.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1700000000000000001ULL;
  s.end_unix_nano = 1700000000250000000ULL;
  s.set("http.response.status_code", 200);
  Resource r;
  r.service_version = "1.2.3";
  const std::vector<Span> spans{s};
  EXPECT_EQ(encode_otlp_json(spans, r),
            R"({"resourceSpans":[{"resource":{"attributes":[)"
            R"({"key":"service.name","value":{"stringValue":"gatewayd"}},)"
            R"({"key":"service.version","value":{"stringValue":"1.2.3"}}]},)"
            R"("scopeSpans":[{"scope":{"name":"gatewayd","version":"1.2.3"},"spans":[)"
            R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",)"
            R"("name":"GET items","kind":2,"startTimeUnixNano":"1700000000000000001",)"
            R"("endTimeUnixNano":"1700000000250000000",)"
            R"("attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}],)"
            R"("status":{"code":0}}]}]}]})");
}

TEST(OtlpJsonTest, ParentChildAttributesAndStatus) {
  const auto server_ctx =
      start_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", Sampler(1.0));
  const auto client_ctx = server_ctx.child();
  auto server = Span::start("GET /items/{id}", SpanKind::kServer, server_ctx);
  server.set("http.route", "items");
  server.set("gatewayd.retry", std::uint64_t{2});
  server.set("error", false);
  server.set("ratio", 0.25);
  server.set("bad", std::numeric_limits<double>::quiet_NaN());
  server.set("quote", "a\"b\\c\n");
  server.status = StatusCode::kError;
  server.status_message = "UPSTREAM_TIMEOUT";
  server.end();
  auto client = Span::start("upstream", SpanKind::kClient, client_ctx);
  client.end();

  Resource r;
  r.service_instance_id = "node-1";
  r.attributes.push_back({"deployment.environment", std::string("prod")});
  const std::vector<Span> spans{server, client};
  const auto j = json::parse(encode_otlp_json(spans, r));

  const auto& res_attrs = j["resourceSpans"][0]["resource"]["attributes"];
  ASSERT_EQ(res_attrs.size(), 4u);
  EXPECT_EQ(res_attrs[0]["key"], "service.name");
  EXPECT_EQ(res_attrs[2]["key"], "service.instance.id");
  EXPECT_EQ(res_attrs[2]["value"]["stringValue"], "node-1");
  EXPECT_EQ(res_attrs[3]["value"]["stringValue"], "prod");

  const auto& scope = j["resourceSpans"][0]["scopeSpans"][0];
  EXPECT_EQ(scope["scope"]["name"], "gatewayd");
  const auto& out = scope["spans"];
  ASSERT_EQ(out.size(), 2u);
  const auto& srv = out[0];
  const auto& cli = out[1];
  EXPECT_EQ(srv["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(srv["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(srv["spanId"], server_ctx.span_id.hex());
  EXPECT_EQ(cli["parentSpanId"], srv["spanId"]);
  EXPECT_EQ(cli["traceId"], srv["traceId"]);
  EXPECT_EQ(srv["kind"], 2);
  EXPECT_EQ(cli["kind"], 3);
  EXPECT_TRUE(srv["startTimeUnixNano"].is_string());
  EXPECT_LE(std::stoull(srv["startTimeUnixNano"].get<std::string>()),
            std::stoull(srv["endTimeUnixNano"].get<std::string>()));
  EXPECT_EQ(srv["status"]["code"], 2);
  EXPECT_EQ(srv["status"]["message"], "UPSTREAM_TIMEOUT");
  EXPECT_EQ(cli["status"]["code"], 0);

  const auto& a = srv["attributes"];
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a[0]["value"]["stringValue"], "items");
  EXPECT_EQ(a[1]["value"]["intValue"], "2");
  EXPECT_EQ(a[2]["value"]["boolValue"], false);
  EXPECT_DOUBLE_EQ(a[3]["value"]["doubleValue"].get<double>(), 0.25);
  EXPECT_EQ(a[4]["value"]["doubleValue"], "NaN");
  EXPECT_EQ(a[5]["value"]["stringValue"], "a\"b\\c\n");
}

TEST(OtlpJsonTest, EmptyBatchIsStillAValidRequest) {
  const auto j = json::parse(encode_otlp_json({}, Resource{}));
  EXPECT_TRUE(j["resourceSpans"][0]["scopeSpans"][0]["spans"].empty());
}

}  // namespace
}  // namespace gatewayd::tracing
