#include "discovery/etcd_provider.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <map>
#include <stdexcept>

#include "clients/http_client.hpp"
#include "discovery/backoff.hpp"
#include "discovery/etcd_codec.hpp"
#include "gatewayd/logging.hpp"

namespace gatewayd::discovery {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

using Instances = std::map<std::string, DiscoveredEndpoint>;  // by key

void apply(Instances& instances, const std::string& service, const EtcdKeyValue& kv, bool deleted) {
  if (deleted) {
    instances.erase(kv.key);
    return;
  }
  if (auto e = parse_etcd_instance(kv.key, kv.value)) {
    instances[kv.key] = std::move(*e);
  } else {
    // A malformed value must not take a working instance out of rotation by accident, but it
    // cannot be served either: it is dropped and logged.
    instances.erase(kv.key);
    logging::log_event(logging::app(), spdlog::level::warn, "etcd: ignoring malformed instance",
                       {{"service", service}, {"key", kv.key}});
  }
}

EndpointSetPtr to_set(const std::string& service, const std::string& source,
                      const Instances& instances) {
  std::vector<DiscoveredEndpoint> endpoints;
  endpoints.reserve(instances.size());
  for (const auto& [key, e] : instances) endpoints.push_back(e);
  return std::make_shared<const EndpointSet>(service, source, std::move(endpoints));
}

}  // namespace

EtcdProvider::EtcdProvider(asio::any_io_executor control, DiscoveryRegistry& registry,
                           EtcdOptions options)
    : registry_(registry), options_(std::move(options)), watches_(std::move(control), "etcd") {
  if (options_.endpoints.empty()) throw std::invalid_argument("etcd: no endpoints configured");
}

EtcdProvider::~EtcdProvider() {
  stop();
}

void EtcdProvider::watch(const ServiceConfig& service) {
  registry_.expect(service.name, name_);
  watches_.start(service.name,
                 [this, name = service.name](StopFlag stop) { return run(name, std::move(stop)); });
}

void EtcdProvider::unwatch(const std::string& service) {
  watches_.cancel(service);
}

void EtcdProvider::stop() {
  watches_.shutdown(std::chrono::seconds(10));
}

asio::awaitable<void> EtcdProvider::run(std::string service, StopFlag stop) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  Backoff backoff(options_.backoff);
  const std::string prefix = options_.prefix + service + "/";
  std::size_t endpoint = 0;
  bool failing = false;
  unsigned cancels = 0;  // watches canceled in a row without delivering an event

  const auto fail = [&](const std::string& why) {
    registry_.report_error(name_, service, why);
    if (!failing) {
      logging::log_event(logging::app(), spdlog::level::warn,
                         "etcd watch failing, keeping the last endpoint set",
                         {{"service", service},
                          {"endpoint", options_.endpoints[endpoint].to_string()},
                          {"error", why}});
    }
    failing = true;
    endpoint = (endpoint + 1) % options_.endpoints.size();
    return backoff.next();
  };
  const auto recovered = [&] {
    if (failing) {
      logging::log_event(logging::app(), spdlog::level::info, "etcd watch recovered",
                         {{"service", service}});
    }
    failing = false;
    registry_.report_ok(name_, service);
  };

  HttpRequestOptions http;
  http.connect_timeout = options_.connect_timeout;
  http.timeout = options_.request_timeout;
  http.body_limit = 16 * 1024 * 1024;

  while (!stop->load()) {
    std::chrono::milliseconds delay{0};

    // List.
    HttpClientRequest range;
    range.method = http::verb::post;
    range.target = "/v3/kv/range";
    range.content_type = "application/json";
    range.body = etcd_range_body(prefix);
    const auto listed = co_await http_request(options_.endpoints[endpoint], range, http);
    if (stop->load()) break;
    std::string error;
    std::optional<EtcdRange> parsed;
    if (!listed.ok()) {
      error = listed.describe();
    } else {
      parsed = parse_etcd_range(listed.body, &error);
    }
    if (!parsed) {
      timer.expires_after(fail(error));
      co_await timer.async_wait(asio::use_awaitable);
      continue;
    }
    lists_.fetch_add(1, std::memory_order_relaxed);
    Instances instances;
    for (const auto& kv : parsed->kvs) apply(instances, service, kv, false);
    recovered();
    registry_.publish(to_set(service, name_, instances));
    std::int64_t revision = parsed->revision;

    // Watch from the next revision.
    if (options_.on_before_watch) {
      try {
        options_.on_before_watch(service, revision + 1);
      } catch (...) {
        // An observer must not end the watch loop.
      }
    }
    HttpStreamReader stream(executor);
    HttpClientRequest watch;
    watch.method = http::verb::post;
    watch.target = "/v3/watch";
    watch.content_type = "application/json";
    watch.body = etcd_watch_body(prefix, revision + 1);
    const auto head = co_await stream.open(options_.endpoints[endpoint], watch, http);
    if (stop->load()) break;
    if (!head.ok()) {
      timer.expires_after(fail("watch: " + head.describe()));
      co_await timer.async_wait(asio::use_awaitable);
      continue;
    }

    LineSplitter lines;
    bool relist = false;
    std::string stream_error;
    while (!stop->load() && !relist && stream_error.empty()) {
      std::string chunk;
      const auto ec = co_await stream.read_some(chunk, options_.watch_idle_timeout);
      if (stop->load()) break;
      if (!lines.feed(chunk)) {
        stream_error = "watch: line too long";
        break;
      }
      bool changed = false;
      while (auto line = lines.next()) {
        if (line->empty()) continue;
        const auto message = parse_etcd_watch_line(*line);
        if (!message) {
          stream_error = "watch: malformed message";
          break;
        }
        if (!message->error.empty()) {
          stream_error = "watch: " + message->error;
          break;
        }
        if (message->created) backoff.reset();
        if (message->compact_revision > 0 || message->canceled) {
          logging::log_event(logging::app(), spdlog::level::info,
                             "etcd watch canceled, listing again",
                             {{"service", service},
                              {"start_revision", revision + 1},
                              {"compact_revision", message->compact_revision}});
          relist = true;
          // A compaction right after a list is normal once; a watch that keeps getting
          // canceled is not, and must not spin.
          if (++cancels > 1) delay = backoff.next();
          break;
        }
        if (!message->events.empty()) cancels = 0;
        for (const auto& event : message->events) {
          apply(instances, service, event.kv, event.deleted);
          revision = std::max(revision, event.kv.mod_revision);
          changed = true;
        }
      }
      if (changed && !relist && stream_error.empty()) {
        registry_.publish(to_set(service, name_, instances));
      }
      if (ec && stream_error.empty() && !relist) {
        if (ec == boost::beast::error::timeout) {
          // Silent for the idle period: reopen quietly (a re-list is cheap).
          relist = true;
        } else {
          stream_error =
              ec == http::error::end_of_stream ? "watch: stream closed" : "watch: " + ec.message();
        }
      }
    }
    stream.close();
    if (stop->load()) break;
    if (!stream_error.empty()) delay = fail(stream_error);
    if (delay.count() > 0) {
      timer.expires_after(delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

}  // namespace gatewayd::discovery
