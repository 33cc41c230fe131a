#pragma once
// The per-worker rate limiter the request path calls. One per worker, used only from that
// worker's io_context; the buckets it uses locally are shared by all workers through the
// RateLimitService, and with RATE_LIMIT_BACKEND=redis the buckets live in Redis and are shared
// by every replica.
//
// Rules applied to a request: the route's `rate_limit` (per caller), the verified API key's own
// `rate_limit_per_minute` / `rate_limit_per_hour` (per key), every active rule-set rule whose path
// pattern matches, and, when none of these applies, the RATE_LIMIT_PER_MINUTE default (per
// caller; not for routes of the "internal" service). The request passes only if every rule
// allows it, and then it is counted once in each. A refused request is counted in none: the
// local buckets and the Redis script decide all buckets of a request at once, all or nothing.
// (In a Redis Cluster the buckets of one request usually live in different slots, so each is
// decided by its own script call; when one refuses, the tokens the others took are given back
// with a compensating call.)
//
//   RateLimitDecision d = co_await limiter->check(request);
//   append_rate_limit_headers(d, service->settings().ietf_headers, ctx.response_headers);
//   if (!d.allowed) -> 429 RATE_LIMITED with rate_limited_message(d)
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "filters/rate_limit/client_identity.hpp"
#include "filters/rate_limit/rate_limit_decision.hpp"
#include "filters/rate_limit/rate_limit_service.hpp"

namespace gatewayd {
class RedisClient;
struct RouteConfig;
namespace metrics {
class Counter;
}
}  // namespace gatewayd

namespace gatewayd::ratelimit {

class RedisBucketBatcher;

struct RateLimitRequest {
  std::string_view path;               // normalised request path (for rule path patterns)
  const RouteConfig* route = nullptr;  // the matched route (its name and rate_limit), if any
  // Verified identities only (see client_identity.hpp); unverified values must not be passed.
  std::optional<std::string_view> subject;
  std::optional<std::string_view> api_key_id;
  // The verified key's own limits (0: none); they apply only together with api_key_id, as the
  // "api_key_per_minute" / "api_key_per_hour" rules bucketed per key id.
  std::uint32_t api_key_per_minute = 0;
  std::uint32_t api_key_per_hour = 0;
  // The client address: pass it when the server has already resolved it with
  // resolve_client_ip(); otherwise leave it empty and the limiter resolves it from `peer` and
  // `x_forwarded_for` with TRUSTED_PROXIES.
  std::string_view client_ip;
  boost::asio::ip::address peer;
  std::string_view x_forwarded_for;  // all X-Forwarded-For fields joined with ','
};

class RateLimiter : public std::enable_shared_from_this<RateLimiter> {
 public:
  // `redis`: this worker's Redis client, possibly shared with other users on the worker. When it
  // is null and the backend is redis, the limiter creates its own from settings().redis.
  static std::shared_ptr<RateLimiter> create(std::shared_ptr<RateLimitService> service,
                                             boost::asio::any_io_executor ex,
                                             std::shared_ptr<RedisClient> redis = nullptr);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Decides one request. Everything the decision needs is copied out of `request` before this
  // returns, so the views in it need not outlive the call. Never throws on the data path.
  boost::asio::awaitable<RateLimitDecision> check(const RateLimitRequest& request);

  // Graceful stop, for shutdown. Call on executor(). Gives the unspent tokens of every lease
  // back to Redis (one script call per slot) and the tokens of lease grants still on their way
  // as they land, waits for those calls and the other Redis calls in flight, then does what
  // stop() does and posts `on_stopped` to executor(). The wait is bounded by a short deadline
  // (RATE_LIMIT_REDIS_TIMEOUT_MS, at most 500 ms) that the returns also carry, so a dead Redis
  // delays the end by at most that; nothing blocks the loop, and tokens Redis did not take
  // back are logged, not thrown. A call while one is under way waits for that one; a call
  // after stop() only posts `on_stopped`.
  void shut_down(std::function<void()> on_stopped = {});
  // Stops at once: the Redis client if the limiter created it, and the lease sweep. Leased
  // tokens are not given back (shut_down() does that). Call on executor(), or once its loop
  // has ended: while the worker loop runs, an open Redis connection keeps it alive.
  void stop();
  const boost::asio::any_io_executor& executor() const noexcept { return ex_; }

  bool degraded() const noexcept { return degraded_; }
  const std::shared_ptr<RateLimitService>& service() const noexcept { return service_; }

 private:
  struct PlannedRule {
    const RateLimitRule* rule = nullptr;
    std::string identity;
    std::string key;
  };
  struct Plan {
    std::shared_ptr<const RuleTable> table;  // keeps table rules alive
    boost::container::small_vector<std::shared_ptr<const RateLimitRule>, 3> owned;
    boost::container::small_vector<PlannedRule, 4> rules;
  };
  struct DecisionCounters {
    metrics::Counter* allowed = nullptr;
    metrics::Counter* denied = nullptr;
    metrics::Counter* denied_by_other = nullptr;
  };
  using Results = boost::container::small_vector<TokenBucketResult, 4>;
  using Clock = std::chrono::steady_clock;

  // Tokens of one Redis bucket this worker took ahead of need. A hot bucket would otherwise cost
  // a Redis round trip per request; with a lease, most requests are decided here. The lease
  // covers about 50 ms of this worker's own traffic (so a quiet worker holds nothing), is capped
  // by RATE_LIMIT_REDIS_LEASE_PERCENT of the capacity, and what is left after kLeaseTtl goes
  // back to Redis. Tokens are taken from the shared bucket before they are spent, so leasing
  // never admits more than the limit; at worst a replica is refused while another holds
  // leased tokens, for at most kLeaseTtl.
  struct Lease {
    double tokens = 0;           // leased, not yet spent
    double redis_remaining = 0;  // what the bucket held right after the last grant
    TokenBucketParams bucket;    // of the last grant: what a refund must be sent with
    std::chrono::microseconds reset{0};
    Clock::time_point expires{};
    Clock::time_point window_start{};
    std::uint32_t uses = 0;       // decisions in the current window
    std::uint32_t last_uses = 0;  // decisions in the window before
    bool asking = false;          // a decision that asks for more is on its way to Redis
  };

  RateLimiter(std::shared_ptr<RateLimitService> service, boost::asio::any_io_executor ex,
              std::shared_ptr<RedisClient> redis);

  Plan plan(const RateLimitRequest& request);
  std::shared_ptr<const RateLimitRule> route_rule_for(const RouteConfig& route);
  std::shared_ptr<const RateLimitRule> key_rule_for(std::uint32_t limit, std::uint32_t window);
  RateLimitDecision decide_local(const Plan& plan, LocalBucketStore& store, DecisionSource source,
                                 std::uint32_t divide_by);
  RateLimitDecision failure_decision(const Plan& plan, const std::string& reason);
  RateLimitDecision compose(const Plan& plan, const Results& results, bool allowed,
                            DecisionSource source, std::uint32_t divide_by);
  void account(const Plan& plan, const RateLimitDecision& decision);
  DecisionCounters& counters(const std::string& rule);
  void set_degraded(bool degraded, const std::string& reason);
  std::uint32_t lease_cap(const TokenBucketParams& bucket) const noexcept;
  Lease* lease_for(const std::string& key, Clock::time_point now);
  static void note_use(Lease& lease, Clock::time_point now) noexcept;
  std::optional<RateLimitDecision> decide_from_leases(const Plan& plan, Clock::time_point now);
  void adopt_grants(const Plan& plan, std::span<const std::uint32_t> extras,
                    std::span<const std::uint32_t> granted, Results& results);
  // Gives back the unspent tokens of expired leases; runs every kLeaseTtl while any lease
  // holds tokens, so a worker whose traffic stops does not keep them.
  void schedule_lease_sweep();
  void sweep_leases();
  // Gives back `tokens` of one bucket in the background, counted in redis_calls_.
  void spawn_refund(const std::string& key, const TokenBucketParams& bucket, int tokens,
                    Clock::time_point deadline);
  void redis_call_done();
  void notify_stopped();

  static boost::asio::awaitable<RateLimitDecision> ready(RateLimitDecision decision);
  static boost::asio::awaitable<RateLimitDecision> decide_redis(std::shared_ptr<RateLimiter> self,
                                                                Plan plan);
  // Empty when Redis took the tokens back, else why not.
  static boost::asio::awaitable<std::string> refund(std::shared_ptr<RateLimiter> self,
                                                    std::string key, TokenBucketParams bucket,
                                                    int tokens, Clock::time_point deadline);
  static boost::asio::awaitable<void> return_leases(std::shared_ptr<RateLimiter> self);

  std::shared_ptr<RateLimitService> service_;
  boost::asio::any_io_executor ex_;
  std::shared_ptr<RedisClient> redis_;
  std::shared_ptr<RedisBucketBatcher> batcher_;  // set with redis_
  bool own_redis_ = false;

  std::shared_ptr<const RuleTable> table_;
  std::uint64_t table_generation_ = 0;
  std::shared_ptr<const RateLimitRule> default_rule_;
  std::unordered_map<std::string, std::shared_ptr<const RateLimitRule>> route_rules_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const RateLimitRule>> key_rules_;
  std::unordered_map<std::string, DecisionCounters> counters_;
  std::unordered_map<std::string, Lease> leases_;  // by bucket key; bounded by kMaxLeases
  boost::asio::steady_timer lease_sweep_;
  bool sweep_scheduled_ = false;
  bool stopped_ = false;  // by stop() or shut_down(): no more sweeps, no more leasing
  bool shutting_down_ = false;
  bool halted_ = false;  // stop() ran

  // Redis calls on their way (decisions and refunds); shut_down() waits for them on idle_,
  // which the last one to finish cancels while idle_waiting_.
  std::size_t redis_calls_ = 0;
  boost::asio::steady_timer idle_;
  bool idle_waiting_ = false;
  Clock::time_point shutdown_deadline_{};
  std::vector<std::function<void()>> stop_waiters_;  // shut_down() callers, posted when done
  // Tokens shut_down() (and grants landing after it) sent back, and what Redis took, for the log.
  std::uint64_t owed_at_stop_ = 0;
  std::uint64_t returned_at_stop_ = 0;
  std::string return_failure_;

  bool degraded_ = false;
  std::chrono::steady_clock::time_point next_probe_{};
  std::chrono::milliseconds probe_backoff_{0};
};

}  // namespace gatewayd::ratelimit
