#pragma once
// Prometheus metrics: a process-wide registry (the one allowed global besides the config
// snapshot). Families are created at start-up or on first use; the returned references are
// stable for the life of the process, so the hot path caches them and only does relaxed atomic
// adds. Label values must be bounded (route names, never raw paths).
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatewayd::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept;
  void inc() noexcept { add(1.0); }
  void dec() noexcept { add(-1.0); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts per bound plus +Inf as the last element.
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // non-cumulative, bounds_.size()+1
  std::atomic<double> sum_{0.0};
  std::atomic<std::uint64_t> count_{0};
};

// Default latency buckets in seconds: 0.5 ms .. 30 s.
const std::vector<double>& default_latency_buckets();

class Registry {
 public:
  static Registry& global();

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Get-or-create. Takes a mutex: call at start-up or cache the reference.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                       const std::vector<double>& bounds = default_latency_buckets());
  // A gauge computed when scraped (pool sizes, queue depth). Replaces an earlier callback with
  // the same name and labels.
  void gauge_callback(std::string_view name, std::string_view help, const Labels& labels,
                      std::function<double()> fn);
  // A counter whose value lives elsewhere (a queue's drop count, CPU time): read when scraped.
  void counter_callback(std::string_view name, std::string_view help, const Labels& labels,
                        std::function<double()> fn);
  // Removes a callback series (an endpoint that left the pool). Plain counters, gauges and
  // histograms are never removed because the hot path holds references to them.
  bool remove_callback(std::string_view name, const Labels& labels);

  // Prometheus text exposition format 0.0.4. Callbacks run during render under the registry
  // lock: they must be cheap and must not call back into the registry.
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (read from /proc when scraped)
// and gatewayd_build_info{version} 1. An empty version means the compiled-in one, another
// version replaces the compiled-in series. Idempotent;
// Registry::global() calls it on first use.
void register_process_metrics(Registry& registry, std::string_view version = {});

}  // namespace gatewayd::metrics
