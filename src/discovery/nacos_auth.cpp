#include "discovery/nacos_auth.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "discovery/nacos_codec.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;

NacosAuth::NacosAuth(const NacosOptions& options) : options_(options) {}

void NacosAuth::invalidate() noexcept {
  token_.clear();
  refresh_at_ = {};
}

asio::awaitable<std::optional<std::string>> NacosAuth::token(HttpEndpoint server,
                                                             std::string* error) {
  if (!enabled()) co_return std::string();
  if (!token_.empty() && Clock::now() < refresh_at_) co_return token_;

  if (in_flight_) {
    // Another call is logging in: wait for it rather than logging in twice.
    const auto done = done_;
    co_await done->async_wait(asio::as_tuple(asio::use_awaitable));
    if (!token_.empty()) co_return token_;
    if (error != nullptr) *error = "nacos: login failed";
    co_return std::nullopt;
  }

  in_flight_ = true;
  done_ = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                               asio::steady_timer::time_point::max());
  HttpClientRequest request;
  request.method = boost::beast::http::verb::post;
  request.target = "/nacos/v1/auth/login";
  request.content_type = "application/x-www-form-urlencoded";
  request.body = form_encode({{"username", options_.username}, {"password", options_.password}});
  HttpRequestOptions http;
  http.connect_timeout = options_.connect_timeout;
  http.timeout = options_.request_timeout;
  http.body_limit = 64 * 1024;
  const auto response = co_await http_request(server, std::move(request), http);
  ++logins_;

  std::optional<std::string> out;
  if (!response.ok()) {
    // The message names the status only: a login answer may echo what was sent.
    if (error != nullptr) *error = "nacos login: " + response.describe();
  } else if (const auto login = parse_nacos_login(response.body)) {
    token_ = login->access_token;
    const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(login->ttl);
    const auto early = std::min(options_.token_refresh_margin, ttl / 4);
    refresh_at_ = Clock::now() + ttl - early;
    out = token_;
  } else {
    if (error != nullptr) *error = "nacos login: no accessToken in the answer";
  }
  if (!out) invalidate();
  in_flight_ = false;
  done_->cancel();
  done_.reset();
  co_return out;
}

}  // namespace gatewayd::discovery
