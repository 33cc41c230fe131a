#pragma once
// CORS on the request path. Preflights (OPTIONS with Origin and Access-Control-Request-Method)
// are answered by the gateway itself, before route matching, auth and the upstream:
// answer_preflight(). Actual requests from an allowed origin get their Access-Control-* response
// headers from CorsFilter. A disallowed origin's request still passes: CORS is enforced by the
// browser, which withholds the response from the page when the headers are missing.
#include <boost/beast/http/message.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/cors_policy.hpp"
#include "gatewayd/filter.hpp"

namespace gatewayd {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// OPTIONS carrying Origin and Access-Control-Request-Method (Fetch, "CORS-preflight request").
bool is_cors_preflight(const boost::beast::http::request_header<>& head);
// The Access-Control-Request-Method of a preflight, trimmed.
std::string_view preflight_method(const boost::beast::http::request_header<>& head);

// nullopt when the policy is disabled or `head` is no preflight (the request goes on as usual).
// Otherwise 204 with the Access-Control-Allow-* headers, or 403 FORBIDDEN (the JSON error body
// of every local reply, with `request_id`) naming the origin, method or header refused. Both
// carry Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers. The 204 has
// an empty body, as HTTP requires; the 403's body names `trace_id` when given.
std::optional<LocalResponse> answer_preflight(const CorsPolicy& policy,
                                              const boost::beast::http::request_header<>& head,
                                              std::string_view request_id = {},
                                              std::string_view trace_id = {});

// The headers of an actual (non-preflight) response to a request whose Origin is `origin`
// (empty when it had none), appended to `out`. Nothing when the policy is disabled. Otherwise
// always Vary: Origin (the Fetch standard's advice for responses that depend on the origin, so
// a cache never hands a response without CORS headers to another origin), plus for an allowed
// origin Access-Control-Allow-Origin, -Allow-Credentials (when enabled) and -Expose-Headers
// (when any).
void append_cors_headers(const CorsPolicy& policy, std::string_view origin, HeaderList& out);

// The middleware stage. One per worker; all share one holder. A route with its own policy
// (RouteConfig::cors) uses that one instead of the holder's.
class CorsFilter final : public Filter {
 public:
  explicit CorsFilter(std::shared_ptr<const CorsPolicyHolder> holder);

  std::string_view name() const noexcept override { return "cors"; }
  // Adds append_cors_headers() to ctx.response_headers, so local replies of later filters
  // (401, 429) carry them too and the page can read why it was refused. Never refuses.
  std::optional<Verdict> decide_now(RequestContext& ctx) override;
  boost::asio::awaitable<Verdict> on_request(RequestContext& ctx) override;
  // The gateway's policy wins over an upstream that sets its own CORS headers: two
  // Access-Control-Allow-Origin values make browsers reject the response.
  void on_response(RequestContext& ctx, boost::beast::http::response_header<>& res) override;

 private:
  std::shared_ptr<const CorsPolicyHolder> holder_;
};

}  // namespace gatewayd
