#include "filters/rate_limit/rate_limit_service.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>

#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::ratelimit {

namespace asio = boost::asio;

RateLimitService::RateLimitService(RateLimitSettings settings, std::shared_ptr<RecordSink> sink)
    : settings_(std::move(settings)),
      records_enabled_(settings_.records_enabled && sink != nullptr),
      local_(settings_.max_buckets),
      fallback_(settings_.max_buckets),
      records_(records_enabled_ ? std::move(sink) : nullptr, settings_.max_record_entries),
      rules_(std::make_shared<RuleTable>()) {
  degraded_gauge_ = &metrics::Registry::global().gauge(
      "gatewayd_ratelimit_degraded",
      "1 while rate limiting cannot use Redis and applies RATE_LIMIT_REDIS_FAILURE_MODE");
  degraded_gauge_->set(0);
}

RateLimitService::~RateLimitService() = default;

void RateLimitService::set_rules(std::shared_ptr<const RuleTable> table) {
  if (!table) table = std::make_shared<RuleTable>();
  {
    std::lock_guard lock(rules_mutex_);
    rules_ = std::move(table);
  }
  rules_generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const RuleTable> RateLimitService::rules() const {
  std::lock_guard lock(rules_mutex_);
  return rules_;
}

void RateLimitService::set_file_rules(std::vector<RateLimitRuleSpec> specs) {
  std::lock_guard lock(sources_mutex_);
  set_rules(RuleTable::build(merge_rule_specs(specs, table_specs_)));
  file_specs_ = std::move(specs);
}

void RateLimitService::set_table_rules(std::vector<RateLimitRuleSpec> specs) {
  std::lock_guard lock(sources_mutex_);
  set_rules(RuleTable::build(merge_rule_specs(file_specs_, specs)));
  table_specs_ = std::move(specs);
}

std::string RateLimitService::degraded_text() const {
  switch (settings_.failure_mode) {
    case FailureMode::kLocal:
      return "redis unavailable, local fallback";
    case FailureMode::kOpen:
      return "redis unavailable, failing open";
    case FailureMode::kClosed:
      return "redis unavailable, failing closed";
  }
  return "redis unavailable";
}

void RateLimitService::report_degraded(bool degraded, std::string_view reason) {
  std::lock_guard lock(degraded_mutex_);
  const int before = degraded_workers_.load();
  const int after = std::max(0, before + (degraded ? 1 : -1));
  degraded_workers_.store(after);
  if (before == 0 && after > 0) {
    degraded_gauge_->set(1);
    logging::app().warn(
        "rate limiting degraded: Redis unavailable ({}); failure mode '{}'{}", reason,
        failure_mode_name(settings_.failure_mode),
        settings_.failure_mode == FailureMode::kLocal
            ? ", limits divided by " + std::to_string(settings_.expected_replicas) + " replica(s)"
            : std::string());
  } else if (before > 0 && after == 0) {
    degraded_gauge_->set(0);
    logging::app().info("rate limiting recovered: Redis available again");
  }
}

void RateLimitService::start(asio::any_io_executor ex) {
  if (timer_ || stopped_) return;
  timer_.emplace(ex);
  asio::co_spawn(ex, maintain(shared_from_this()), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      logging::error().error("rate limit maintenance failed: {}", ex.what());
    }
  });
}

void RateLimitService::stop() {
  if (stopped_.exchange(true)) return;
  if (timer_) {
    // The timer belongs to the maintenance executor; cancel there.
    asio::post(timer_->get_executor(), [self = shared_from_this()] { self->timer_->cancel(); });
  }
  const std::size_t rows = records_.flush();
  if (rows > 0) logging::app().info("rate limit records flushed at shutdown: {} rows", rows);
}

asio::awaitable<void> RateLimitService::maintain(std::shared_ptr<RateLimitService> self) {
  using Clock = std::chrono::steady_clock;
  auto next_sweep = Clock::now() + self->settings_.sweep_interval;
  auto next_flush = Clock::now() + self->settings_.records_flush_interval;
  while (!self->stopped_) {
    self->timer_->expires_at(std::min(next_sweep, next_flush));
    co_await self->timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (self->stopped_) break;
    const auto now = Clock::now();
    if (now >= next_sweep) {
      const auto now_us = LocalBucketStore::now_us();
      self->local_.sweep(now_us);
      self->fallback_.sweep(now_us);
      next_sweep = now + self->settings_.sweep_interval;
    }
    if (now >= next_flush) {
      self->records_.flush();
      next_flush = now + self->settings_.records_flush_interval;
    }
  }
}

}  // namespace gatewayd::ratelimit
