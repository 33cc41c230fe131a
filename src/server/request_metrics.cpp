#include "server/request_metrics.hpp"

#include <array>
#include <charconv>

namespace gatewayd {

namespace {
constexpr std::array<std::string_view, 9> kMethods{"GET",    "HEAD",    "POST",  "PUT",  "DELETE",
                                                   "PATCH",  "OPTIONS", "TRACE", "CONNECT"};
}

RequestMetrics::RequestMetrics()
    : active_connections(metrics::Registry::global().gauge(
          "gatewayd_active_connections", "Open downstream connections")),
      connections_total(metrics::Registry::global().counter(
          "gatewayd_connections_total", "Accepted downstream connections")),
      in_flight(metrics::Registry::global().gauge(
          "gatewayd_requests_in_flight", "Requests whose head was read and whose response is not complete")) {}

std::string_view RequestMetrics::method_label(std::string_view method) noexcept {
  for (auto m : kMethods) {
    if (m == method) return m;
  }
  return "OTHER";
}

void RequestMetrics::record_request(std::string_view route, std::string_view method,
                                    unsigned status, double seconds) {
  const auto m = method_label(method);
  char code[8];
  const auto [end, ec] = std::to_chars(code, code + sizeof code, status);
  const std::string_view code_sv(code, static_cast<std::size_t>(end - code));

  key_.assign(route);
  key_ += '\0';
  key_ += m;
  key_ += '\0';
  key_ += code_sv;
  auto it = requests_.find(key_);
  if (it == requests_.end()) {
    auto& c = metrics::Registry::global().counter(
        "gatewayd_http_requests_total", "HTTP requests by route, method and status code",
        {{"route", std::string(route)}, {"method", std::string(m)}, {"code", std::string(code_sv)}});
    it = requests_.emplace(key_, Handles{&c}).first;
  }
  it->second.requests->inc();

  auto dit = durations_.find(route);
  if (dit == durations_.end()) {
    key_.assign(route);
    auto& h = metrics::Registry::global().histogram(
        "gatewayd_http_request_duration_seconds", "Time from request head to response end",
        {{"route", std::string(route)}});
    dit = durations_.emplace(key_, &h).first;
  }
  dit->second->observe(seconds);
}

void RequestMetrics::record_upstream(std::string_view service, double seconds) {
  auto it = upstream_.find(service);
  if (it == upstream_.end()) {
    auto& h = metrics::Registry::global().histogram(
        "gatewayd_upstream_request_duration_seconds",
        "Time from sending a request upstream to the end of its response",
        {{"service", std::string(service)}});
    it = upstream_.emplace(std::string(service), &h).first;
  }
  it->second->observe(seconds);
}

}  // namespace gatewayd
