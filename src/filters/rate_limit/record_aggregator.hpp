#pragma once
// Aggregates rate-limit activity into rate_limit_records rows: one count per identifier, rule
// (window_type + route_path) and fixed window (aligned to the epoch), counting every request the
// rule evaluated, allowed or refused. Rows are handed to the persistence producer periodically and
// at shutdown; the database upserts them adding counts, so partial windows can be flushed any
// time. Thread-safe (sharded); the map is bounded: a full shard is flushed early, nothing is
// dropped.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "filters/rate_limit/rate_limit_rule.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd::ratelimit {

class RecordAggregator {
 public:
  RecordAggregator(std::shared_ptr<RecordSink> sink, std::size_t max_entries,
                   std::size_t shards = 16);
  ~RecordAggregator();
  RecordAggregator(const RecordAggregator&) = delete;
  RecordAggregator& operator=(const RecordAggregator&) = delete;

  void count(std::string_view identifier, const RateLimitRule& rule, SystemTime now);
  // Submits every aggregated row and starts over. Returns the number of rows submitted.
  std::size_t flush();
  std::size_t size() const;

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, RateLimitRecord> rows;
  };
  void submit_all(std::unordered_map<std::string, RateLimitRecord>& rows);

  std::shared_ptr<RecordSink> sink_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t max_per_shard_;
};

}  // namespace gatewayd::ratelimit
