#include "filters/rate_limit/rate_limit_filter.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <utility>

namespace gatewayd::ratelimit {

RateLimitFilter::RateLimitFilter(std::shared_ptr<RateLimiter> limiter)
    : limiter_(std::move(limiter)) {}

RateLimitRequest RateLimitFilter::to_request(const RequestContext& ctx) {
  RateLimitRequest req;
  req.path = ctx.target.path;
  req.route = ctx.match.route;
  if (ctx.identity) {
    if (!ctx.identity->subject.empty()) req.subject = ctx.identity->subject;
    if (!ctx.identity->key_id.empty()) {
      req.api_key_id = ctx.identity->key_id;
      req.api_key_per_minute = ctx.identity->key_limit_per_minute;
      req.api_key_per_hour = ctx.identity->key_limit_per_hour;
    }
  }
  req.client_ip = ctx.client_ip;
  return req;
}

boost::asio::awaitable<Verdict> RateLimitFilter::on_request(RequestContext& ctx) {
  // check() copies what it needs before returning; the context outlives the awaitable anyway
  // (the session awaits the filter before touching the request again).
  return run(limiter_, &ctx, limiter_->check(to_request(ctx)));
}

boost::asio::awaitable<Verdict> RateLimitFilter::run(
    std::shared_ptr<RateLimiter> limiter, RequestContext* ctx,
    boost::asio::awaitable<RateLimitDecision> check) {
  const RateLimitDecision d = co_await std::move(check);
  if (!d.limited) co_return Continue{};
  const bool ietf = limiter->service()->settings().ietf_headers;
  if (d.allowed) {
    append_rate_limit_headers(d, ietf, ctx->response_headers);
    co_return Continue{};
  }
  LocalReply reply;
  reply.code = ErrorCode::kRateLimited;
  reply.message = rate_limited_message(d);
  reply.details_json = rate_limited_details_json(d);
  append_rate_limit_headers(d, ietf, reply.headers);
  co_return reply;
}

}  // namespace gatewayd::ratelimit
