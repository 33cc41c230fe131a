#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include "filters/rate_limit/rate_limit_filter.hpp"

#include <gtest/gtest.h>

#include "limiter_test_util.hpp"

namespace gatewayd::ratelimit {
namespace {

std::string header(const std::vector<std::pair<std::string, std::string>>& h,
                   std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(RateLimitFilter, HeadersOnAllowedAnd429WithRetryAfterOnRefusal) {
  boost::asio::io_context io;
  RateLimitSettings s;
  s.default_per_minute = 0;
  s.ietf_headers = true;
  auto service = std::make_shared<RateLimitService>(s, nullptr);
  RateLimitFilter filter(RateLimiter::create(service, io.get_executor()));

  RouteConfig route;
  route.name = "GET /limited";
  route.path = "/limited";
  route.service = "svc";
  route.rate_limit = 1;
  RequestContext ctx;
  ctx.target.path = "/limited";
  ctx.match.status = MatchStatus::kMatched;
  ctx.match.route = &route;
  ctx.client_ip = "198.51.100.1";
  ctx.identity = Identity{};  // verified but without subject or key: limited by IP

  const Verdict first = test::run(io, filter.on_request(ctx));
  EXPECT_TRUE(std::holds_alternative<Continue>(first));
  EXPECT_EQ(header(ctx.response_headers, "X-RateLimit-Limit"), "1");
  EXPECT_EQ(header(ctx.response_headers, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(header(ctx.response_headers, "RateLimit-Policy"), R"("GET /limited";q=1;w=60)");

  RequestContext again;
  again.target.path = "/limited";
  again.match = ctx.match;
  again.client_ip = "198.51.100.1";
  const Verdict second = test::run(io, filter.on_request(again));
  ASSERT_TRUE(std::holds_alternative<LocalReply>(second));
  const auto& reply = std::get<LocalReply>(second);
  EXPECT_EQ(reply.code, ErrorCode::kRateLimited);
  EXPECT_EQ(header(reply.headers, "Retry-After"), "60");
  EXPECT_EQ(header(reply.headers, "X-RateLimit-Remaining"), "0");
  EXPECT_NE(reply.details_json.find("\"rule\":\"GET /limited\""), std::string::npos);

  // Another client address has its own bucket.
  RequestContext other = again;
  other.response_headers.clear();
  other.client_ip = "198.51.100.2";
  EXPECT_TRUE(std::holds_alternative<Continue>(test::run(io, filter.on_request(other))));
}

}  // namespace
}  // namespace gatewayd::ratelimit
