#include "discovery/nacos_provider.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "clients/http_client.hpp"
#include "discovery/backoff.hpp"
#include "discovery/nacos_codec.hpp"
#include "gatewayd/logging.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;

NacosProvider::NacosProvider(asio::any_io_executor control, DiscoveryRegistry& registry,
                             NacosOptions options)
    : registry_(registry),
      options_(std::move(options)),
      auth_(options_),
      watches_(std::move(control), "nacos") {
  if (options_.servers.empty()) throw std::invalid_argument("nacos: no servers configured");
}

NacosProvider::~NacosProvider() {
  stop();
}

void NacosProvider::watch(const ServiceConfig& service) {
  registry_.expect(service.name, name_);
  watches_.start(service.name,
                 [this, name = service.name](StopFlag stop) { return run(name, std::move(stop)); });
}

void NacosProvider::unwatch(const std::string& service) {
  watches_.cancel(service);
}

void NacosProvider::stop() {
  watches_.shutdown(std::chrono::seconds(10));
}

asio::awaitable<void> NacosProvider::run(std::string service, StopFlag stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Backoff backoff(options_.backoff);
  std::size_t server = 0;
  bool failing = false;

  const auto fail = [&](const std::string& why) {
    registry_.report_error(name_, service, why);
    if (!failing) {
      logging::log_event(
          logging::app(), spdlog::level::warn, "nacos query failing, keeping the last endpoint set",
          {{"service", service}, {"server", options_.servers[server].to_string()}, {"error", why}});
    }
    failing = true;
    server = (server + 1) % options_.servers.size();
    return backoff.next();
  };

  while (!stop->load()) {
    std::chrono::milliseconds delay{0};
    std::string error;
    const auto token = co_await auth_.token(options_.servers[server], &error);
    if (stop->load()) break;
    if (!token) {
      delay = fail(error);
    } else {
      HttpClientRequest request;
      request.target = nacos_list_target(options_, service, *token);
      HttpRequestOptions http;
      http.connect_timeout = options_.connect_timeout;
      http.timeout = options_.request_timeout;
      const auto response = co_await http_request(options_.servers[server], request, http);
      if (stop->load()) break;
      if (response.transport_ok() && response.status == 403 && auth_.enabled()) {
        auth_.invalidate();
        delay = fail("nacos: token refused (HTTP 403)");
      } else if (!response.ok() && !(response.transport_ok() && options_.api_version >= 2 &&
                                     !response.body.empty())) {
        delay = fail(response.describe());
      } else if (auto list = parse_nacos_instances(response.body, options_.api_version, &error);
                 !list) {
        delay = fail(error);
      } else {
        if (failing) {
          logging::log_event(logging::app(), spdlog::level::info, "nacos query recovered",
                             {{"service", service}});
        }
        failing = false;
        backoff.reset();
        registry_.report_ok(name_, service);
        registry_.publish(
            std::make_shared<const EndpointSet>(service, name_, std::move(list->endpoints)));
        delay = list->cache_millis.count() > 0 ? list->cache_millis : options_.poll_min;
        delay = std::clamp(delay, options_.poll_min, options_.poll_max);
      }
    }
    timer.expires_after(delay);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace gatewayd::discovery
