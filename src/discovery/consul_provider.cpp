#include "discovery/consul_provider.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "clients/http_client.hpp"
#include "discovery/backoff.hpp"
#include "discovery/consul_codec.hpp"
#include "gatewayd/logging.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

ConsulProvider::ConsulProvider(asio::any_io_executor control, DiscoveryRegistry& registry,
                               ConsulOptions options)
    : registry_(registry), options_(std::move(options)), watches_(std::move(control), "consul") {}

ConsulProvider::~ConsulProvider() {
  stop();
}

void ConsulProvider::watch(const ServiceConfig& service) {
  registry_.expect(service.name, name_);
  watches_.start(service.name,
                 [this, name = service.name](StopFlag stop) { return run(name, std::move(stop)); });
}

void ConsulProvider::unwatch(const std::string& service) {
  watches_.cancel(service);
}

void ConsulProvider::stop() {
  watches_.shutdown(std::chrono::seconds(10));
}

asio::awaitable<void> ConsulProvider::run(std::string service, StopFlag stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Backoff backoff(options_.backoff);
  std::uint64_t index = 0;
  Clock::time_point last_call{};
  bool failing = false;

  const auto fail = [&](const std::string& why) {
    registry_.report_error(name_, service, why);
    if (!failing) {
      logging::log_event(
          logging::app(), spdlog::level::warn,
          "consul query failing, keeping the last endpoint set",
          {{"service", service}, {"agent", options_.agent.to_string()}, {"error", why}});
    }
    failing = true;
    return backoff.next();
  };

  while (!stop->load()) {
    // Rate limit: an index reset or a service that changes constantly must not become a
    // busy loop against the agent.
    const auto earliest = last_call + options_.min_interval;
    if (Clock::now() < earliest) {
      timer.expires_at(earliest);
      co_await timer.async_wait(asio::use_awaitable);
    }
    last_call = Clock::now();

    HttpClientRequest request;
    request.target = consul_health_target(service, options_.datacenter, index, options_.wait);
    if (!options_.token.empty()) request.headers.emplace_back("X-Consul-Token", options_.token);
    HttpRequestOptions http;
    http.connect_timeout = options_.connect_timeout;
    // Consul adds up to wait/16 of jitter to a blocking query.
    http.timeout = index > 0 ? options_.wait + options_.wait / 16 + options_.request_timeout
                             : options_.request_timeout;
    http.body_limit = 16 * 1024 * 1024;
    const HttpClientResponse response = co_await http_request(options_.agent, request, http);
    if (stop->load()) break;

    std::chrono::milliseconds delay{0};
    if (!response.ok()) {
      delay = fail(response.describe());
    } else {
      std::string error;
      auto endpoints = parse_consul_health(response.body, &error);
      if (!endpoints) {
        delay = fail(error);
      } else {
        const std::uint64_t next = next_consul_index(index, response.header("X-Consul-Index"));
        if (next == 0 && index != 0) {
          logging::log_event(logging::app(), spdlog::level::info, "consul index reset",
                             {{"service", service}, {"previous", index}});
        }
        index = next;
        backoff.reset();
        if (failing) {
          logging::log_event(logging::app(), spdlog::level::info, "consul query recovered",
                             {{"service", service}});
        }
        failing = false;
        registry_.report_ok(name_, service);
        registry_.publish(
            std::make_shared<const EndpointSet>(service, name_, std::move(*endpoints)));
      }
    }
    if (delay.count() > 0) {
      timer.expires_after(delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

}  // namespace gatewayd::discovery
