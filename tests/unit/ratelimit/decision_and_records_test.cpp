#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "filters/rate_limit/rate_limit_decision.hpp"
#include "filters/rate_limit/record_aggregator.hpp"

namespace gatewayd::ratelimit {
namespace {

std::string header(const HeaderList& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return "<absent>";
}

RateLimitDecision sample(bool allowed) {
  RateLimitDecision d;
  d.limited = true;
  d.allowed = allowed;
  d.limit = 100;
  d.window_seconds = 60;
  d.remaining = allowed ? 42 : 0;
  d.reset_seconds = 35;
  d.retry_after_seconds = allowed ? 0 : 3;
  d.rule = "per-ip";
  d.rules = {{"per-ip", 100, 60, d.remaining, 35, d.retry_after_seconds, allowed},
             {"GET \"x\"", 10, 1, 9, 1, 0, true}};
  return d;
}

TEST(RateLimitHeaders, AllowedRequest) {
  HeaderList h;
  append_rate_limit_headers(sample(true), false, h);
  EXPECT_EQ(header(h, "X-RateLimit-Limit"), "100");
  EXPECT_EQ(header(h, "X-RateLimit-Remaining"), "42");
  EXPECT_EQ(header(h, "X-RateLimit-Reset"), "35");
  EXPECT_EQ(header(h, "Retry-After"), "<absent>");
  EXPECT_EQ(header(h, "RateLimit-Policy"), "<absent>");
}

TEST(RateLimitHeaders, RefusedRequestWithIetfFields) {
  HeaderList h;
  append_rate_limit_headers(sample(false), true, h);
  EXPECT_EQ(header(h, "Retry-After"), "3");
  EXPECT_EQ(header(h, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(header(h, "RateLimit-Policy"), R"("per-ip";q=100;w=60, "GET \"x\"";q=10;w=1)");
  EXPECT_EQ(header(h, "RateLimit"), R"("per-ip";r=0;t=35)");
}

TEST(RateLimitHeaders, NothingWithoutARuleAndOnlyTheLimitWhenStateIsUnknown) {
  HeaderList h;
  append_rate_limit_headers(RateLimitDecision{}, true, h);
  EXPECT_TRUE(h.empty());
  auto d = sample(true);
  d.state_known = false;
  append_rate_limit_headers(d, false, h);
  EXPECT_EQ(header(h, "X-RateLimit-Limit"), "100");
  EXPECT_EQ(header(h, "X-RateLimit-Remaining"), "<absent>");
}

TEST(RateLimitHeaders, ErrorDetails) {
  const auto d = sample(false);
  EXPECT_EQ(rate_limited_details_json(d),
            R"({"rule":"per-ip","limit":100,"window_seconds":60,"retry_after":3})");
  EXPECT_NE(rate_limited_message(d).find("3 s"), std::string::npos);
}

class CaptureSink : public RecordSink {
 public:
  void submit(Record record) noexcept override {
    std::lock_guard lock(mutex);
    rows.push_back(std::get<RateLimitRecord>(std::move(record)));
  }
  std::mutex mutex;
  std::vector<RateLimitRecord> rows;
};

TEST(RecordAggregator, CountsPerIdentifierRuleAndWindow) {
  auto sink = std::make_shared<CaptureSink>();
  RecordAggregator agg(sink, 1000);
  RateLimitRule minute;
  minute.window_seconds = 60;
  minute.window_type = "minute";
  minute.route_path = "/projects";
  const SystemTime t0{std::chrono::seconds(1'700'000'080)};  // 40 s into a minute
  for (int i = 0; i < 5; ++i) agg.count("ip:1.2.3.4", minute, t0);
  agg.count("ip:1.2.3.4", minute, t0 + std::chrono::seconds(19));  // same window
  agg.count("ip:1.2.3.4", minute, t0 + std::chrono::seconds(20));  // next window
  agg.count("user:bob", minute, t0);
  EXPECT_EQ(agg.size(), 3u);
  EXPECT_EQ(agg.flush(), 3u);
  EXPECT_EQ(agg.size(), 0u);
  ASSERT_EQ(sink->rows.size(), 3u);
  std::uint64_t total = 0;
  for (const auto& r : sink->rows) {
    total += r.request_count;
    EXPECT_EQ(r.window_type, "minute");
    EXPECT_EQ(r.route_path, "/projects");
    EXPECT_EQ(r.window_end - r.window_start, std::chrono::seconds(60));
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(r.window_start.time_since_epoch())
                      .count() %
                  60,
              0);
    if (r.identifier == "ip:1.2.3.4" &&
        r.window_start == SystemTime{std::chrono::seconds(1'700'000'040)}) {
      EXPECT_EQ(r.request_count, 6u);
    }
  }
  EXPECT_EQ(total, 8u);
}

TEST(RecordAggregator, AFullMapIsFlushedEarlyNotDropped) {
  auto sink = std::make_shared<CaptureSink>();
  RecordAggregator agg(sink, 8, 1);
  RateLimitRule rule;
  rule.window_type = "minute";
  const SystemTime t0{std::chrono::seconds(1'700'000'000)};
  for (int i = 0; i < 100; ++i) agg.count("ip:" + std::to_string(i), rule, t0);
  EXPECT_LE(agg.size(), 8u);
  agg.flush();
  std::uint64_t total = 0;
  for (const auto& r : sink->rows) total += r.request_count;
  EXPECT_EQ(total, 100u);
}

}  // namespace
}  // namespace gatewayd::ratelimit
