#include "discovery/nacos_registration.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <stdexcept>

#include "clients/http_client.hpp"
#include "discovery/backoff.hpp"
#include "discovery/nacos_codec.hpp"
#include "gatewayd/logging.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;
namespace http = boost::beast::http;

NacosRegistration::NacosRegistration(asio::any_io_executor control, NacosOptions nacos,
                                     RegistrationOptions options, metrics::Registry& metrics)
    : nacos_(std::move(nacos)),
      options_(std::move(options)),
      auth_(nacos_),
      errors_(metrics.counter("gatewayd_discovery_registration_errors_total",
                              "Failed self-registration calls to a discovery backend.",
                              {{"provider", "nacos"}})),
      loop_(std::move(control), "nacos-registration") {
  if (nacos_.servers.empty()) throw std::invalid_argument("nacos: no servers configured");
}

NacosRegistration::~NacosRegistration() {
  loop_.shutdown(std::chrono::seconds(5));
}

void NacosRegistration::start() {
  loop_.start("register", [this](StopFlag stop) { return run(std::move(stop)); });
}

bool NacosRegistration::stop(std::chrono::milliseconds timeout) {
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

asio::awaitable<HttpClientResponse> NacosRegistration::call(http::verb method, std::string path,
                                                            FormFields fields) {
  const HttpEndpoint server = nacos_.servers[server_];
  std::string error;
  const auto token = co_await auth_.token(server, &error);
  HttpClientResponse out;
  if (!token) {
    out.error = boost::asio::error::access_denied;
    co_return out;
  }
  if (!token->empty()) fields.emplace_back("accessToken", *token);
  HttpClientRequest request;
  request.method = method;
  request.target = std::move(path) + "?" + form_encode(fields);
  HttpRequestOptions http;
  http.connect_timeout = nacos_.connect_timeout;
  http.timeout = nacos_.request_timeout;
  http.body_limit = 64 * 1024;
  out = co_await http_request(server, std::move(request), http);
  if (out.transport_ok() && out.status == 403) auth_.invalidate();
  if (!out.ok()) server_ = (server_ + 1) % nacos_.servers.size();
  co_return out;
}

asio::awaitable<void> NacosRegistration::run(StopFlag stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Backoff backoff(nacos_.backoff);
  std::chrono::milliseconds interval = options_.heartbeat_interval;
  while (!stop->load()) {
    std::chrono::milliseconds delay = interval;
    if (!registered_.load()) {
      // Arguments of a co_await are named values: GCC 12 mishandles temporaries there.
      const std::string path = "/nacos/v1/ns/instance";
      const auto fields = nacos_register_fields(nacos_, options_);
      const auto response = co_await call(http::verb::post, path, fields);
      if (stop->load()) break;
      if (response.ok()) {
        registered_ = true;
        ever_registered_ = true;
        backoff.reset();
        logging::log_event(logging::app(), spdlog::level::info, "registered with nacos",
                           {{"service", options_.service_name},
                            {"address", options_.address},
                            {"port", options_.port}});
      } else {
        errors_.inc();
        delay = backoff.next();
        logging::log_event(logging::app(), spdlog::level::warn, "nacos registration failed",
                           {{"error", response.describe()}});
      }
    } else {
      const std::string path = "/nacos/v1/ns/instance/beat";
      const auto fields = nacos_beat_fields(nacos_, options_);
      const auto response = co_await call(http::verb::put, path, fields);
      if (stop->load()) break;
      const auto beat = response.ok() ? parse_nacos_beat(response.body) : std::nullopt;
      if (!beat) {
        errors_.inc();
      } else {
        beats_.fetch_add(1);
        if (beat->client_beat_interval.count() > 0) {
          interval = beat->client_beat_interval;
          delay = interval;
        }
        if (beat->instance_missing) {
          // The server expired the instance (beats were lost): register again at once.
          registered_ = false;
          delay = std::chrono::milliseconds(0);
        }
      }
    }
    if (delay.count() > 0) {
      timer.expires_after(delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

asio::awaitable<bool> NacosRegistration::deregister() {
  const std::string path = "/nacos/v1/ns/instance";
  const auto fields = nacos_deregister_fields(nacos_, options_);
  const auto response = co_await call(http::verb::delete_, path, fields);
  registered_ = false;
  if (!response.ok()) {
    errors_.inc();
    logging::log_event(logging::app(), spdlog::level::warn, "nacos deregistration failed",
                       {{"error", response.describe()}});
    co_return false;
  }
  logging::log_event(logging::app(), spdlog::level::info, "deregistered from nacos",
                     {{"service", options_.service_name}});
  co_return true;
}

}  // namespace gatewayd::discovery
