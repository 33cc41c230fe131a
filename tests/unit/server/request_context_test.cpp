#include <gtest/gtest.h>

#include "gatewayd/filter.hpp"

namespace gatewayd {
namespace {

TEST(RequestContext, ResetStartsAFreshRequestAndKeepsTheBuffers) {
  RequestContext ctx;
  ctx.config = std::make_shared<const Config>();
  RouteConfig route;
  ctx.match.route = &route;
  ctx.match.status = MatchStatus::kMatched;
  ctx.match.params.emplace_back("id", "42");
  ctx.method = "GET";
  ctx.target.path = "/api/v1/projects/42/members/7";
  ctx.target.has_query = true;
  ctx.request_id = "0192b6a0-7c1e-7d3a-9f00-1234567890ab";
  ctx.request_id_from_client = true;
  ctx.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ctx.trace_sampled = true;
  ctx.client_ip = "203.0.113.9";
  ctx.identity.emplace().subject = "user-42";
  ctx.response_headers.emplace_back("X-RateLimit-Limit", "100");
  const auto path_capacity = ctx.target.path.capacity();
  const auto id_capacity = ctx.request_id.capacity();
  const auto headers_capacity = ctx.response_headers.capacity();

  ctx.reset();

  EXPECT_EQ(ctx.config, nullptr);  // an idle connection pins no config snapshot
  EXPECT_EQ(ctx.match.route, nullptr);
  EXPECT_EQ(ctx.match.status, MatchStatus::kNotFound);
  EXPECT_TRUE(ctx.match.params.empty());
  EXPECT_TRUE(ctx.method.empty());
  EXPECT_TRUE(ctx.target.path.empty());
  EXPECT_FALSE(ctx.target.has_query);
  EXPECT_TRUE(ctx.request_id.empty());
  EXPECT_FALSE(ctx.request_id_from_client);
  EXPECT_TRUE(ctx.trace_id.empty());
  EXPECT_FALSE(ctx.trace_sampled);
  EXPECT_TRUE(ctx.client_ip.empty());
  EXPECT_FALSE(ctx.identity.has_value());
  EXPECT_TRUE(ctx.response_headers.empty());
  // The buffers every request fills are still there.
  EXPECT_EQ(ctx.target.path.capacity(), path_capacity);
  EXPECT_EQ(ctx.request_id.capacity(), id_capacity);
  EXPECT_EQ(ctx.response_headers.capacity(), headers_capacity);
}

}  // namespace
}  // namespace gatewayd
