#include "filters/rate_limit/record_aggregator.hpp"

#include <algorithm>

namespace gatewayd::ratelimit {

RecordAggregator::RecordAggregator(std::shared_ptr<RecordSink> sink, std::size_t max_entries,
                                   std::size_t shards)
    : sink_(std::move(sink)) {
  shards = std::max<std::size_t>(shards, 1);
  max_per_shard_ = std::max<std::size_t>(max_entries / shards, 1);
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

RecordAggregator::~RecordAggregator() = default;

void RecordAggregator::count(std::string_view identifier, const RateLimitRule& rule,
                             SystemTime now) {
  if (!sink_) return;
  const auto window = std::chrono::seconds(std::max<std::uint32_t>(rule.window_seconds, 1));
  const auto since_epoch = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  const auto start = SystemTime(since_epoch - since_epoch % window);

  std::string key;
  key.reserve(identifier.size() + rule.window_type.size() + rule.route_path.size() + 24);
  key.append(identifier).append(1, '\x1f').append(rule.window_type).append(1, '\x1f');
  key.append(rule.route_path).append(1, '\x1f');
  key.append(std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(start.time_since_epoch()).count()));

  Shard& shard = *shards_[std::hash<std::string>{}(key) % shards_.size()];
  std::unordered_map<std::string, RateLimitRecord> full;
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.rows.find(key);
    if (it == shard.rows.end()) {
      if (shard.rows.size() >= max_per_shard_) full.swap(shard.rows);
      RateLimitRecord row;
      row.identifier = std::string(identifier);
      row.window_type = rule.window_type;
      row.route_path = rule.route_path;
      row.window_start = start;
      row.window_end = start + window;
      it = shard.rows.emplace(std::move(key), std::move(row)).first;
    }
    ++it->second.request_count;
  }
  if (!full.empty()) submit_all(full);
}

void RecordAggregator::submit_all(std::unordered_map<std::string, RateLimitRecord>& rows) {
  for (auto& [key, row] : rows) sink_->submit(Record(std::move(row)));
  rows.clear();
}

std::size_t RecordAggregator::flush() {
  std::size_t n = 0;
  for (auto& shard : shards_) {
    std::unordered_map<std::string, RateLimitRecord> rows;
    {
      std::lock_guard lock(shard->mutex);
      rows.swap(shard->rows);
    }
    n += rows.size();
    if (sink_) submit_all(rows);
  }
  return n;
}

std::size_t RecordAggregator::size() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    n += shard->rows.size();
  }
  return n;
}

}  // namespace gatewayd::ratelimit
