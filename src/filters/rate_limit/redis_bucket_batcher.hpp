#pragma once
// Gathers the Redis bucket decisions one worker takes within one turn of its event loop and
// sends them as one script call (per cluster slot). Every call costs Redis a fixed price (the
// command, the script invocation, TIME) on top of the bucket work; under load, tens of requests
// arrive in the same turn, so one call for all of them cuts Redis's CPU per decision and the
// gateway's encoding, parsing and wake-ups. Latency does not grow: the call leaves at the end
// of the turn in which its first decision arrived. Each decision stays all or nothing over its
// own buckets; decisions of one call are taken in arrival order.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "clients/redis_client.hpp"
#include "filters/rate_limit/token_bucket.hpp"

namespace gatewayd::ratelimit {

// One decision: its buckets (all keys in one slot in a cluster), the cost per bucket, and the
// extra tokens to lease per bucket (empty: none).
struct BucketCall {
  std::span<const std::string_view> keys;
  std::span<const TokenBucketParams> params;
  int cost = 1;
  std::span<const std::uint32_t> extras;
};

struct BucketVerdict {
  bool allowed = false;
  std::string failure;  // non-empty: Redis failed or answered nonsense; `out` is untouched
};

class RedisBucketBatcher : public std::enable_shared_from_this<RedisBucketBatcher> {
 public:
  using Clock = std::chrono::steady_clock;

  // `max_decisions` bounds one call so a single script never holds Redis for long.
  static std::shared_ptr<RedisBucketBatcher> create(std::shared_ptr<RedisClient> redis,
                                                    std::size_t max_decisions = 128);

  // Takes (cost 1) or gives back (cost -n) tokens in each bucket, all or nothing, and leases
  // what it can of the extras. `deadline` bounds the call when this decision opens it. The
  // call's spans are copied before the first suspension; `out` and `granted` (may be empty)
  // are written when the verdict is a success.
  boost::asio::awaitable<BucketVerdict> decide(BucketCall call, Clock::time_point deadline,
                                               std::span<TokenBucketResult> out,
                                               std::span<std::uint32_t> granted = {});

  // Script calls sent so far (for tests and diagnostics).
  std::uint64_t calls() const noexcept { return calls_; }

 private:
  struct Batch {
    explicit Batch(const boost::asio::any_io_executor& ex) : signal(ex) {
      signal.expires_at(Clock::time_point::max());
    }
    std::vector<std::string> keys;
    std::vector<std::string> args{std::string()};  // args[0]: the decision count, set at send
    std::size_t decisions = 0;
    std::size_t reply_size = 0;
    Clock::time_point deadline;
    RedisResult result;
    bool done = false;
    boost::asio::steady_timer signal;  // cancelled when `result` is in
  };

  explicit RedisBucketBatcher(std::shared_ptr<RedisClient> redis, std::size_t max_decisions)
      : redis_(std::move(redis)), max_decisions_(max_decisions) {}

  static boost::asio::awaitable<void> send(std::shared_ptr<RedisBucketBatcher> self,
                                           std::uint16_t slot, std::shared_ptr<Batch> batch);

  std::shared_ptr<RedisClient> redis_;
  std::size_t max_decisions_;
  std::unordered_map<std::uint16_t, std::shared_ptr<Batch>> open_;  // by slot; 0 standalone
  std::uint64_t calls_ = 0;
};

}  // namespace gatewayd::ratelimit
