#include "observability/span_exporter.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <stdexcept>

#include "gatewayd/logging.hpp"

namespace gatewayd::tracing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

struct PostResult {
  bool done = false;
  unsigned status = 0;
  std::string error;
};

}  // namespace

std::optional<OtlpEndpoint> parse_otlp_endpoint(std::string_view url, bool append_signal_path) {
  while (!url.empty() && (url.front() == ' ' || url.front() == '\t')) url.remove_prefix(1);
  while (!url.empty() && (url.back() == ' ' || url.back() == '\t')) url.remove_suffix(1);
  if (!iequals_prefix(url, "http://")) return std::nullopt;
  url.remove_prefix(7);
  const auto end = url.find_first_of("/?#");
  const std::string_view authority = url.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view{} : url.substr(end);
  path = path.substr(0, path.find_first_of("?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  OtlpEndpoint ep;
  ep.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  if (host.empty() || (host.find(':') != std::string_view::npos && authority.front() != '[')) {
    return std::nullopt;
  }
  ep.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  if (append_signal_path) {
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    ep.target = std::string(path) + "/v1/traces";
  } else {
    ep.target = path.empty() ? "/" : std::string(path);
  }
  return ep;
}

// ---------------------------------------------------------------------------------------------

// One blocking POST at a time on the exporter thread, driven by a private io_context so that
// every step has a deadline and shutdown can abort a request in flight (stop()).
struct SpanExporter::Transport {
  asio::io_context ioc{1};
  std::mutex mutex;
  bool stopped = false;

  void stop() {
    std::lock_guard lock(mutex);
    stopped = true;
    ioc.stop();
  }

  static asio::awaitable<void> exchange(const OtlpEndpoint& ep, const ExporterOptions& opts,
                                        const std::string& body, PostResult& result) {
    const auto ex = co_await asio::this_coro::executor;
    const auto use = asio::as_tuple(asio::use_awaitable);

    tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use);
    if (rec) {
      result.error = "resolve: " + rec.message();
      co_return;
    }

    beast::tcp_stream stream(ex);
    stream.expires_after(opts.connect_timeout);
    auto [cec, connected] = co_await stream.async_connect(endpoints, use);
    if (cec) {
      result.error = "connect: " + cec.message();
      co_return;
    }

    http::request<http::string_body> req{http::verb::post, ep.target, 11};
    req.set(http::field::host, ep.host_header);
    req.set(http::field::user_agent, "gatewayd");
    req.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : opts.headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();

    stream.expires_after(opts.request_timeout);  // one deadline for the write and the read
    auto [wec, written] = co_await http::async_write(stream, req, use);
    if (wec) {
      result.error = "write: " + wec.message();
      co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [ree, read] = co_await http::async_read(stream, buffer, parser, use);
    if (ree) {
      result.error = "read: " + ree.message();
      co_return;
    }
    result.status = parser.get().result_int();
    result.done = true;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  PostResult post(const OtlpEndpoint& ep, const ExporterOptions& opts, const std::string& body) {
    PostResult result;
    {
      std::lock_guard lock(mutex);
      if (stopped) {
        result.error = "exporter stopped";
        return result;
      }
      ioc.restart();
    }
    // The coroutine borrows these references: it only runs inside ioc.run() below, and after an
    // abort it is destroyed with the io_context, never resumed.
    asio::co_spawn(ioc, exchange(ep, opts, body, result), [&result](std::exception_ptr e) {
      if (e && result.error.empty()) result.error = "internal error";
    });
    ioc.run();
    if (!result.done && result.error.empty()) result.error = "aborted";
    return result;
  }
};

// ---------------------------------------------------------------------------------------------

SpanExporter::SpanExporter(ExporterOptions options)
    : options_(std::move(options)), transport_(std::make_unique<Transport>()) {
  const auto ep = parse_otlp_endpoint(options_.endpoint, !options_.endpoint_is_traces_url);
  if (!ep) {
    throw std::invalid_argument(fmt::format(
        "OTEL_EXPORTER_OTLP_ENDPOINT: unusable endpoint '{}' (expected http://host[:port][/path])",
        options_.endpoint));
  }
  endpoint_ = *ep;
  if (options_.max_queue == 0) options_.max_queue = 1;
  if (options_.max_batch == 0) options_.max_batch = 1;

  auto& registry = options_.registry != nullptr ? *options_.registry : metrics::Registry::global();
  exported_metric_ = &registry.counter("gatewayd_tracing_spans_exported_total",
                                       "Spans accepted by the OTLP collector.");
  failed_metric_ = &registry.counter("gatewayd_tracing_spans_failed_total",
                                     "Spans whose export request failed.");
  dropped_metric_ = &registry.counter("gatewayd_tracing_spans_dropped_total",
                                      "Spans dropped because the export queue was full.");
  thread_ = std::thread([this] { run(); });
}

SpanExporter::~SpanExporter() {
  shutdown();
}

bool SpanExporter::submit(Span span) noexcept {
  bool wake = false;
  try {
    std::unique_lock lock(mutex_);
    if (!stopping_ && queue_.size() < options_.max_queue) {
      queue_.push_back(std::move(span));
      wake = queue_.size() == options_.max_batch;
      lock.unlock();
      if (wake) wake_.notify_one();
      return true;
    }
  } catch (...) {
    // Allocation failure: treated like a full queue.
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  dropped_metric_->inc();
  return false;
}

void SpanExporter::run() {
  ::pthread_setname_np(::pthread_self(), "gw-otlp");
  for (;;) {
    std::vector<Span> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.batch_delay,
                     [this] { return stopping_ || queue_.size() >= options_.max_batch; });
      if (abort_) break;
      if (queue_.empty()) {
        if (stopping_) break;
        continue;
      }
      const std::size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
                std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    export_batch(batch);
  }
  std::size_t left = 0;
  {
    std::lock_guard lock(mutex_);
    left = queue_.size();
    queue_.clear();
    finished_ = true;
  }
  failed_.fetch_add(left, std::memory_order_relaxed);
  failed_metric_->inc(left);
  finished_cv_.notify_all();
}

void SpanExporter::export_batch(std::vector<Span>& batch) {
  const std::string body = encode_otlp_json(batch, options_.resource);
  requests_.fetch_add(1, std::memory_order_relaxed);
  const PostResult result = transport_->post(endpoint_, options_, body);
  const bool ok = result.done && result.status >= 200 && result.status < 300;
  if (ok) {
    exported_.fetch_add(batch.size(), std::memory_order_relaxed);
    exported_metric_->inc(batch.size());
    if (failing_) logging::app().info("OTLP export to {} recovered", endpoint_.host_header);
    failing_ = false;
    return;
  }
  failed_.fetch_add(batch.size(), std::memory_order_relaxed);
  failed_metric_->inc(batch.size());
  // One warning when exports start failing, then at most one a minute.
  const auto now = std::chrono::steady_clock::now();
  if (!failing_ || now - last_warning_ >= std::chrono::minutes(1)) {
    last_warning_ = now;
    const std::string reason =
        result.done ? fmt::format("HTTP status {}", result.status) : result.error;
    logging::app().warn("OTLP export of {} spans to {}{} failed: {}", batch.size(),
                        endpoint_.host_header, endpoint_.target, reason);
  }
  failing_ = true;
}

void SpanExporter::shutdown() noexcept {
  std::lock_guard once(shutdown_mutex_);
  {
    std::unique_lock lock(mutex_);
    if (joined_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  bool abort = false;
  {
    std::unique_lock lock(mutex_);
    if (!finished_cv_.wait_for(lock, options_.shutdown_timeout, [this] { return finished_; })) {
      abort_ = true;
      abort = true;
    }
  }
  if (abort) transport_->stop();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  joined_ = true;
}

SpanExporter::Stats SpanExporter::stats() const noexcept {
  Stats s;
  s.exported = exported_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.requests = requests_.load(std::memory_order_relaxed);
  return s;
}

std::size_t SpanExporter::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace gatewayd::tracing
