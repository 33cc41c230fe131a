#pragma once
// The rate-limit stage of the middleware chain (after auth, before the upstream): asks the
// worker's RateLimiter, adds the X-RateLimit-* headers (and the IETF fields when enabled) to the
// response of every limited route, and answers 429 RATE_LIMITED with Retry-After on refusal.
// One per worker, like the limiter it wraps.
#include <memory>
#include <string_view>

#include "filters/rate_limit/rate_limiter.hpp"
#include "gatewayd/filter.hpp"

namespace gatewayd::ratelimit {

class RateLimitFilter final : public Filter {
 public:
  explicit RateLimitFilter(std::shared_ptr<RateLimiter> limiter);

  std::string_view name() const noexcept override { return "rate_limit"; }
  boost::asio::awaitable<Verdict> on_request(RequestContext& ctx) override;

  // The request as the limiter sees it: normalised path, matched route, verified identity and
  // the client address the server resolved (ctx.client_ip).
  static RateLimitRequest to_request(const RequestContext& ctx);

 private:
  static boost::asio::awaitable<Verdict> run(std::shared_ptr<RateLimiter> limiter,
                                             RequestContext* ctx,
                                             boost::asio::awaitable<RateLimitDecision> check);

  std::shared_ptr<RateLimiter> limiter_;
};

}  // namespace gatewayd::ratelimit
