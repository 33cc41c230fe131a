#pragma once
// Process-wide part of rate limiting, shared by every worker's RateLimiter: the published rule
// table, the local buckets (and the fallback buckets used while Redis is failing), the record
// aggregation, the degraded state and its metric, and the maintenance task (idle bucket sweep,
// periodic record flush). Thread-safe.
//
//   auto service = std::make_shared<RateLimitService>(settings, record_sink);
//   service->set_rules(RuleTable::build(specs));
//   service->start(control_io.get_executor());
//   ... per worker: RateLimiter::create(service, worker_executor, worker_redis_client)
//   service->stop();  // at shutdown: flushes the records
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/rate_limit/local_bucket_store.hpp"
#include "filters/rate_limit/rate_limit_settings.hpp"
#include "filters/rate_limit/record_aggregator.hpp"
#include "filters/rate_limit/rule_table.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd::metrics {
class Gauge;
}

namespace gatewayd::ratelimit {

class RateLimitService : public std::enable_shared_from_this<RateLimitService> {
 public:
  // `sink` receives RateLimitRecord rows (nullptr or records disabled: nothing is aggregated).
  RateLimitService(RateLimitSettings settings, std::shared_ptr<RecordSink> sink);
  ~RateLimitService();
  RateLimitService(const RateLimitService&) = delete;
  RateLimitService& operator=(const RateLimitService&) = delete;

  const RateLimitSettings& settings() const noexcept { return settings_; }

  // Publishes a rule table (start-up, reload, rate_limit_rules change). Requests already being
  // decided keep the table they started with.
  void set_rules(std::shared_ptr<const RuleTable> table);
  std::shared_ptr<const RuleTable> rules() const;

  // The two rule-set sources: the rules file (RATE_LIMIT_RULES_FILE) and the `rate_limit_rules`
  // table. Each call replaces one source and publishes the merge of both (merge_rule_specs: a
  // table row wins over a file rule of the same rule_name). Throws std::invalid_argument when
  // the merged set does not build (too many rules); then nothing changes.
  void set_file_rules(std::vector<RateLimitRuleSpec> specs);
  void set_table_rules(std::vector<RateLimitRuleSpec> specs);
  // Changes with every set_rules(); workers reload their cached table when it moves.
  std::uint64_t rules_generation() const noexcept {
    return rules_generation_.load(std::memory_order_acquire);
  }

  LocalBucketStore& local_buckets() noexcept { return local_; }
  LocalBucketStore& fallback_buckets() noexcept { return fallback_; }
  RecordAggregator& records() noexcept { return records_; }
  bool records_enabled() const noexcept { return records_enabled_; }

  // Starts the maintenance task on `ex` (sweeps idle buckets, flushes records periodically).
  void start(boost::asio::any_io_executor ex);
  // Stops it and flushes the records. Idempotent.
  void stop();
  std::size_t flush_records() { return records_.flush(); }

  // Each worker reports changes of its own Redis state. The first worker to degrade and the last
  // to recover log the transition and move gatewayd_ratelimit_degraded.
  void report_degraded(bool degraded, std::string_view reason);
  bool degraded() const noexcept { return degraded_workers_.load() > 0; }
  // What /ready says while degraded: "redis unavailable, local fallback" / "..., failing open" /
  // "..., failing closed", after RATE_LIMIT_REDIS_FAILURE_MODE.
  std::string degraded_text() const;

 private:
  static boost::asio::awaitable<void> maintain(std::shared_ptr<RateLimitService> self);

  RateLimitSettings settings_;
  bool records_enabled_;
  LocalBucketStore local_;
  LocalBucketStore fallback_;
  RecordAggregator records_;

  mutable std::mutex rules_mutex_;
  std::shared_ptr<const RuleTable> rules_;
  std::mutex sources_mutex_;  // serialises set_file_rules / set_table_rules
  std::vector<RateLimitRuleSpec> file_specs_;
  std::vector<RateLimitRuleSpec> table_specs_;
  std::atomic<std::uint64_t> rules_generation_{1};

  std::mutex degraded_mutex_;
  std::atomic<int> degraded_workers_{0};
  metrics::Gauge* degraded_gauge_ = nullptr;

  std::optional<boost::asio::steady_timer> timer_;
  std::atomic<bool> stopped_{false};
};

}  // namespace gatewayd::ratelimit
