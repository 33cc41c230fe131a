#include "discovery/consul_registration.hpp"
// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>

#include "clients/http_client.hpp"
#include "discovery/backoff.hpp"
#include "discovery/consul_codec.hpp"
#include "gatewayd/logging.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

HttpClientRequest consul_request(const ConsulOptions& consul, http::verb method,
                                 std::string target) {
  HttpClientRequest request;
  request.method = method;
  request.target = std::move(target);
  if (!consul.token.empty()) request.headers.emplace_back("X-Consul-Token", consul.token);
  return request;
}

HttpRequestOptions consul_http(const ConsulOptions& consul) {
  HttpRequestOptions http;
  http.connect_timeout = consul.connect_timeout;
  http.timeout = consul.request_timeout;
  http.body_limit = 1024 * 1024;
  return http;
}

}  // namespace

ConsulRegistration::ConsulRegistration(asio::any_io_executor control, ConsulOptions consul,
                                       RegistrationOptions options, metrics::Registry& metrics)
    : consul_(std::move(consul)),
      options_(std::move(options)),
      errors_(metrics.counter("gatewayd_discovery_registration_errors_total",
                              "Failed self-registration calls to a discovery backend.",
                              {{"provider", "consul"}})),
      loop_(std::move(control), "consul-registration") {}

ConsulRegistration::~ConsulRegistration() {
  loop_.shutdown(std::chrono::seconds(5));
}

void ConsulRegistration::start() {
  loop_.start("register", [this](StopFlag stop) { return run(std::move(stop)); });
}

bool ConsulRegistration::stop(std::chrono::milliseconds timeout) {
  if (stopped_) return true;
  stopped_ = true;
  loop_.shutdown(timeout);
  if (!ever_registered_.load()) return true;
  auto done = asio::co_spawn(loop_.executor(), deregister(), asio::use_future);
  if (done.wait_for(timeout) != std::future_status::ready) return false;
  try {
    return done.get();
  } catch (...) {
    return false;
  }
}

asio::awaitable<void> ConsulRegistration::run(StopFlag stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Backoff backoff(consul_.backoff);
  const std::string service_target = "/v1/agent/service/" + url_encode(options_.instance_id);
  // Arguments of a co_await are named values: GCC 12 mishandles temporaries there.
  const auto http = consul_http(consul_);
  while (!stop->load()) {
    std::chrono::milliseconds delay = options_.refresh_interval;
    if (!registered_.load()) {
      auto request = consul_request(consul_, http::verb::put, "/v1/agent/service/register");
      request.content_type = "application/json";
      request.body = consul_registration_body(options_);
      const auto response = co_await http_request(consul_.agent, request, http);
      if (stop->load()) break;
      if (response.ok()) {
        registered_ = true;
        ever_registered_ = true;
        backoff.reset();
        logging::log_event(logging::app(), spdlog::level::info, "registered with consul",
                           {{"service", options_.service_name}, {"id", options_.instance_id}});
      } else {
        errors_.inc();
        delay = backoff.next();
        logging::log_event(logging::app(), spdlog::level::warn, "consul registration failed",
                           {{"agent", consul_.agent.to_string()}, {"error", response.describe()}});
      }
    } else {
      // The agent loses registrations when its state is wiped; ask and register again.
      const auto request = consul_request(consul_, http::verb::get, service_target);
      const auto response = co_await http_request(consul_.agent, request, http);
      if (stop->load()) break;
      if (response.transport_ok() && response.status == 404) {
        registered_ = false;
        delay = std::chrono::milliseconds(0);
      } else if (!response.ok()) {
        errors_.inc();
      }
    }
    if (delay.count() > 0) {
      timer.expires_after(delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

asio::awaitable<bool> ConsulRegistration::deregister() {
  // Arguments of a co_await are named values: GCC 12 mishandles temporaries there.
  const auto request = consul_request(
      consul_, http::verb::put, "/v1/agent/service/deregister/" + url_encode(options_.instance_id));
  const auto http = consul_http(consul_);
  const auto response = co_await http_request(consul_.agent, request, http);
  registered_ = false;
  if (!response.ok()) {
    errors_.inc();
    logging::log_event(logging::app(), spdlog::level::warn, "consul deregistration failed",
                       {{"agent", consul_.agent.to_string()}, {"error", response.describe()}});
    co_return false;
  }
  logging::log_event(logging::app(), spdlog::level::info, "deregistered from consul",
                     {{"id", options_.instance_id}});
  co_return true;
}

}  // namespace gatewayd::discovery
