#pragma once
// Background OTLP/HTTP JSON exporter. Request threads only append to a bounded queue
// (submit() never waits for the network: a full queue drops the span and counts it); one
// exporter thread batches spans (up to max_batch, or every batch_delay) and POSTs them to
// <endpoint>/v1/traces with connect and request deadlines. A slow or hung collector delays only
// that thread; spans then accumulate to the queue bound and further ones are dropped.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "gatewayd/metrics.hpp"
#include "observability/otlp_json.hpp"
#include "observability/span.hpp"

namespace gatewayd::tracing {

struct OtlpEndpoint {
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 80;
  std::string target;       // "/v1/traces" or "<base>/v1/traces"
  std::string host_header;  // authority as written
};

// Parses OTEL_EXPORTER_OTLP_ENDPOINT ("http://collector:4318", optionally with a base path) and
// appends "/v1/traces" (unless `append_signal_path` is false, for a per-signal traces URL).
// Only plain http is supported; https and user information are refused (nullopt).
std::optional<OtlpEndpoint> parse_otlp_endpoint(std::string_view url,
                                                bool append_signal_path = true);

struct ExporterOptions {
  std::string endpoint;  // OTEL_EXPORTER_OTLP_ENDPOINT
  bool endpoint_is_traces_url = false;
  Resource resource;
  std::size_t max_queue = 2048;  // spans waiting; more are dropped
  std::size_t max_batch = 512;   // spans per request
  std::chrono::milliseconds batch_delay{1000};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{5000};           // write and read of one request
  std::chrono::milliseconds shutdown_timeout{3000};          // to drain the queue, then abort
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
  metrics::Registry* registry = nullptr;                     // nullptr: Registry::global()
};

class SpanExporter {
 public:
  struct Stats {
    std::uint64_t exported = 0;  // accepted by the collector (2xx)
    std::uint64_t failed = 0;    // sent or attempted but not accepted, or left at shutdown
    std::uint64_t dropped = 0;   // refused by submit() (queue full or shutting down)
    std::uint64_t requests = 0;  // POSTs attempted
  };

  // Throws std::invalid_argument naming OTEL_EXPORTER_OTLP_ENDPOINT for an unusable endpoint.
  explicit SpanExporter(ExporterOptions options);
  ~SpanExporter();  // shutdown()
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Never blocks on I/O. Returns false when the span was dropped.
  bool submit(Span span) noexcept;

  // Exports what is queued within shutdown_timeout, then aborts the request in flight and
  // stops the thread. Idempotent.
  void shutdown() noexcept;

  Stats stats() const noexcept;
  std::size_t queued() const;
  const OtlpEndpoint& endpoint() const noexcept { return endpoint_; }

 private:
  struct Transport;

  void run();
  void export_batch(std::vector<Span>& batch);

  ExporterOptions options_;
  OtlpEndpoint endpoint_;
  std::unique_ptr<Transport> transport_;

  std::mutex shutdown_mutex_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_cv_;
  std::deque<Span> queue_;
  bool stopping_ = false;
  bool abort_ = false;
  bool finished_ = false;
  bool joined_ = false;

  std::atomic<std::uint64_t> exported_{0}, failed_{0}, dropped_{0}, requests_{0};
  metrics::Counter* exported_metric_;
  metrics::Counter* failed_metric_;
  metrics::Counter* dropped_metric_;
  std::chrono::steady_clock::time_point last_warning_{};
  bool failing_ = false;

  std::thread thread_;
};

}  // namespace gatewayd::tracing
