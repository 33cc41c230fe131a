#include "persistence/record_codec.hpp"

#include <gtest/gtest.h>

namespace gatewayd::persistence {
namespace {

SystemTime at_us(std::int64_t us) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::microseconds(us)));
}

TEST(RecordCodec, RoundTripsEveryRecordType) {
  RequestRecord req;
  req.request_id = "req-1";
  req.method = "POST";
  req.path = "/api/v1/items?q=\"x\"";
  req.route = "items";
  req.target_service = "item-service";
  req.user_id = "u1";
  req.client_ip = "10.0.0.1";
  req.error_code = "UPSTREAM_TIMEOUT";
  req.trace_id = "0af7651916cd43dd8448eb211c80319c";
  req.status_code = 504;
  req.response_time_ms = 12.5;
  req.created_at = at_us(1'700'000'000'123'456);
  auto back = decode_record(encode_record(req));
  ASSERT_TRUE(back);
  const auto& r = std::get<RequestRecord>(*back);
  EXPECT_EQ(r.request_id, req.request_id);
  EXPECT_EQ(r.path, req.path);
  EXPECT_EQ(r.error_code, req.error_code);
  EXPECT_EQ(r.trace_id, req.trace_id);
  EXPECT_EQ(r.status_code, 504u);
  EXPECT_DOUBLE_EQ(r.response_time_ms, 12.5);
  EXPECT_EQ(r.created_at, req.created_at);

  AuditRecord audit;
  audit.event_type = "route.update";
  audit.user_id = "admin";
  audit.ip_address = "127.0.0.1";
  audit.user_agent = "curl/8";
  audit.request_id = "req-2";
  audit.details_json = R"({"route":"items"})";
  audit.created_at = at_us(5);
  auto a = std::get<AuditRecord>(*decode_record(encode_record(audit)));
  EXPECT_EQ(a.event_type, audit.event_type);
  EXPECT_EQ(a.details_json, audit.details_json);
  EXPECT_EQ(a.user_agent, audit.user_agent);
  EXPECT_EQ(a.created_at, audit.created_at);

  RateLimitRecord rl{"ip:1.2.3.4", "minute", "/api", 42, at_us(60'000'000), at_us(120'000'000)};
  auto l = std::get<RateLimitRecord>(*decode_record(encode_record(rl)));
  EXPECT_EQ(l.identifier, rl.identifier);
  EXPECT_EQ(l.request_count, 42u);
  EXPECT_EQ(l.window_start, rl.window_start);
  EXPECT_EQ(l.window_end, rl.window_end);

  CircuitStateRecord cs{"svc", "open", 5, 1, at_us(7), at_us(8)};
  auto c = std::get<CircuitStateRecord>(*decode_record(encode_record(cs)));
  EXPECT_EQ(c.state, "open");
  EXPECT_EQ(c.failure_count, 5u);
  EXPECT_EQ(c.last_failure_time, cs.last_failure_time);

  ServiceInstanceRecord si;
  si.service_name = "svc";
  si.instance_url = "http://10.0.0.2:8000";
  si.instance_id = "i-1";
  si.health_check_path = "/health";
  si.metadata_json = R"({"zone":"a"})";
  si.weight = 3;
  si.health_check_interval = 30;
  si.failure_count = 2;
  si.is_healthy = false;
  si.last_health_check = at_us(9);
  auto s = std::get<ServiceInstanceRecord>(*decode_record(encode_record(si)));
  EXPECT_EQ(s.instance_url, si.instance_url);
  EXPECT_EQ(s.weight, 3u);
  EXPECT_FALSE(s.is_healthy);
  EXPECT_EQ(s.metadata_json, si.metadata_json);
  EXPECT_EQ(s.last_health_check, si.last_health_check);
}

TEST(RecordCodec, InvalidUtf8IsReplacedNotFatal) {
  RequestRecord req;
  req.request_id = "r";
  req.path = std::string("/bad\xff\xfe", 6);
  std::string payload = encode_record(req);
  auto back = decode_record(payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<RequestRecord>(*back).path.substr(0, 4), "/bad");
}

TEST(RecordCodec, RejectsGarbageAndUnknownKinds) {
  EXPECT_FALSE(decode_record(""));
  EXPECT_FALSE(decode_record("{not json"));
  EXPECT_FALSE(decode_record("[1,2]"));
  EXPECT_FALSE(decode_record(R"({"k":"spaceship"})"));
  // Missing fields take their defaults; unknown fields are ignored.
  auto r = decode_record(R"({"k":"request","request_id":"x","future_field":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<RequestRecord>(*r).request_id, "x");
  EXPECT_EQ(record_kind(*r), "request");
}

}  // namespace
}  // namespace gatewayd::persistence
