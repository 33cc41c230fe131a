#include "filters/rate_limit/rate_limiter.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include "clients/redis_client.hpp"
#include "clients/redis_slot.hpp"
#include "common/on_exit.hpp"
#include "filters/rate_limit/redis_bucket_batcher.hpp"
#include "filters/rate_limit/redis_bucket_script.hpp"
#include "gatewayd/config.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::ratelimit {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kProbeMin{250};
constexpr std::chrono::milliseconds kProbeMax{5000};
constexpr std::size_t kMaxCachedRouteRules = 4096;
constexpr std::size_t kMaxLeases = 4096;
constexpr std::chrono::milliseconds kLeaseWindow{100};  // usage is counted per window
constexpr std::chrono::milliseconds kLeaseTtl{250};
// Shutdown waits at most this long (or RATE_LIMIT_REDIS_TIMEOUT_MS when shorter) for Redis to
// take leased tokens back.
constexpr std::chrono::milliseconds kLeaseReturnMax{500};

TokenBucketParams divided(const TokenBucketParams& p, std::uint32_t by) {
  if (by <= 1) return p;
  return TokenBucketParams{std::max(1.0, std::floor(p.capacity / by)),
                           p.refill_per_second / static_cast<double>(by)};
}

void log_escaped(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logging::error().error("rate limit task failed: {}", ex.what());
  } catch (...) {
    logging::error().error("rate limit task failed");
  }
}

}  // namespace

std::shared_ptr<RateLimiter> RateLimiter::create(std::shared_ptr<RateLimitService> service,
                                                 asio::any_io_executor ex,
                                                 std::shared_ptr<RedisClient> redis) {
  return std::shared_ptr<RateLimiter>(
      new RateLimiter(std::move(service), std::move(ex), std::move(redis)));
}

RateLimiter::RateLimiter(std::shared_ptr<RateLimitService> service, asio::any_io_executor ex,
                         std::shared_ptr<RedisClient> redis)
    : service_(std::move(service)),
      ex_(std::move(ex)),
      redis_(std::move(redis)),
      lease_sweep_(ex_),
      idle_(ex_) {
  const auto& s = service_->settings();
  if (s.backend == Backend::kRedis && !redis_) {
    redis_ = RedisClient::create(ex_, s.redis);
    own_redis_ = true;
  }
  if (s.backend == Backend::kRedis && redis_) {
    redis_->start();
    batcher_ = RedisBucketBatcher::create(redis_);
  }
  if (s.default_per_minute > 0) {
    default_rule_ = std::make_shared<const RateLimitRule>(default_rule(s.default_per_minute));
  }
}

RateLimiter::~RateLimiter() {
  if (own_redis_ && redis_) redis_->stop();
  if (degraded_) service_->report_degraded(false, "limiter stopped");
}

void RateLimiter::stop() {
  // A pending sweep would keep the worker loop alive.
  stopped_ = true;
  halted_ = true;
  lease_sweep_.cancel();
  if (idle_waiting_) idle_.cancel();
  if (own_redis_ && redis_) redis_->stop();
}

void RateLimiter::shut_down(std::function<void()> on_stopped) {
  if (on_stopped) stop_waiters_.push_back(std::move(on_stopped));
  if (shutting_down_) return;  // the shutdown under way posts it
  if (halted_ || !batcher_) {
    stop();
    notify_stopped();
    return;
  }
  shutting_down_ = true;
  stopped_ = true;  // no more leasing; grants that land from now on go straight back
  lease_sweep_.cancel();
  shutdown_deadline_ =
      Clock::now() + std::min<Clock::duration>(service_->settings().redis_timeout, kLeaseReturnMax);
  // Whatever happens in the coroutine, the Redis client stops: it would keep the loop alive.
  asio::co_spawn(ex_, return_leases(shared_from_this()),
                 [self = shared_from_this()](std::exception_ptr e) {
                   log_escaped(e);
                   self->stop();
                   self->notify_stopped();
                 });
}

void RateLimiter::notify_stopped() {
  for (auto& waiter : stop_waiters_) asio::post(ex_, std::move(waiter));
  stop_waiters_.clear();
}

asio::awaitable<void> RateLimiter::return_leases(std::shared_ptr<RateLimiter> self) {
  const auto deadline = self->shutdown_deadline_;
  std::size_t buckets = 0;
  for (auto& [key, lease] : self->leases_) {
    if (lease.tokens >= 1) {
      self->spawn_refund(key, lease.bucket, static_cast<int>(std::floor(lease.tokens)), deadline);
      ++buckets;
    }
    lease.tokens = 0;
  }
  // The returns, grants still on their way (returned as they land) and the other calls.
  while (self->redis_calls_ > 0 && !self->halted_ && Clock::now() < deadline) {
    self->idle_.expires_at(deadline);
    self->idle_waiting_ = true;
    co_await self->idle_.async_wait(asio::as_tuple(asio::use_awaitable));
    self->idle_waiting_ = false;
  }
  const std::uint64_t owed = self->owed_at_stop_;
  const std::uint64_t returned = self->returned_at_stop_;
  if (returned < owed) {
    logging::app().warn(
        "rate limiter: {} of {} leased token(s) not given back to Redis at shutdown ({}); they "
        "are missing from the shared buckets until these refill",
        owed - returned, owed,
        self->return_failure_.empty() ? "no answer before the deadline" : self->return_failure_);
  } else if (owed > 0) {
    logging::app().debug("rate limiter: {} leased token(s) of {} bucket(s) given back to Redis",
                         owed, buckets);
  }
}

void RateLimiter::spawn_refund(const std::string& key, const TokenBucketParams& bucket, int tokens,
                               Clock::time_point deadline) {
  ++redis_calls_;
  const bool stopping = stopped_;
  if (stopping) owed_at_stop_ += static_cast<std::uint64_t>(tokens);
  asio::co_spawn(
      ex_, refund(shared_from_this(), key, bucket, tokens, deadline),
      [self = shared_from_this(), tokens, stopping](std::exception_ptr e, std::string failure) {
        log_escaped(e);
        if (e && failure.empty()) failure = "the return failed";
        if (stopping) {
          if (failure.empty()) {
            self->returned_at_stop_ += static_cast<std::uint64_t>(tokens);
          } else {
            self->return_failure_ = std::move(failure);
          }
        }
        self->redis_call_done();
      });
}

void RateLimiter::redis_call_done() {
  if (redis_calls_ > 0) --redis_calls_;
  if (redis_calls_ == 0 && idle_waiting_) idle_.cancel();
}

void RateLimiter::schedule_lease_sweep() {
  if (sweep_scheduled_ || stopped_) return;
  sweep_scheduled_ = true;
  lease_sweep_.expires_after(kLeaseTtl);
  lease_sweep_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    const auto self = weak.lock();
    if (!self) return;
    self->sweep_scheduled_ = false;
    if (!ec && !self->stopped_) self->sweep_leases();
  });
}

void RateLimiter::sweep_leases() {
  const auto now = Clock::now();
  bool holding = false;
  for (auto& [key, lease] : leases_) {
    if (lease.tokens < 1) continue;
    if (now < lease.expires || lease.asking) {
      holding = true;
      continue;
    }
    spawn_refund(key, lease.bucket, static_cast<int>(std::floor(lease.tokens)),
                 now + service_->settings().redis_timeout);
    lease.tokens = 0;
  }
  if (holding) schedule_lease_sweep();
}

asio::awaitable<RateLimitDecision> RateLimiter::ready(RateLimitDecision decision) {
  co_return decision;
}

std::shared_ptr<const RateLimitRule> RateLimiter::route_rule_for(const RouteConfig& route) {
  const std::uint32_t limit = *route.rate_limit;
  auto it = route_rules_.find(route.name);
  if (it != route_rules_.end() && it->second->limit == std::max<std::uint32_t>(limit, 1) &&
      it->second->route_path == route.path) {
    return it->second;
  }
  if (route_rules_.size() >= kMaxCachedRouteRules) route_rules_.clear();
  auto rule = std::make_shared<const RateLimitRule>(ratelimit::route_rule(route, limit));
  route_rules_[route.name] = rule;
  return rule;
}

std::shared_ptr<const RateLimitRule> RateLimiter::key_rule_for(std::uint32_t limit,
                                                               std::uint32_t window) {
  const std::uint64_t id = std::uint64_t{window} << 32 | limit;
  if (auto it = key_rules_.find(id); it != key_rules_.end()) return it->second;
  if (key_rules_.size() >= kMaxCachedRouteRules) key_rules_.clear();
  auto rule = std::make_shared<const RateLimitRule>(api_key_rule(limit, window));
  key_rules_.emplace(id, rule);
  return rule;
}

RateLimiter::Plan RateLimiter::plan(const RateLimitRequest& request) {
  Plan p;
  const auto generation = service_->rules_generation();
  if (!table_ || generation != table_generation_) {
    table_ = service_->rules();
    table_generation_ = generation;
  }
  p.table = table_;

  boost::container::small_vector<const RateLimitRule*, 4> rules;
  if (request.route != nullptr && request.route->rate_limit) {
    p.owned.push_back(route_rule_for(*request.route));
    rules.push_back(p.owned.back().get());
  }
  if (request.api_key_id && !request.api_key_id->empty()) {
    if (request.api_key_per_minute > 0) {
      p.owned.push_back(key_rule_for(request.api_key_per_minute, 60));
      rules.push_back(p.owned.back().get());
    }
    if (request.api_key_per_hour > 0) {
      p.owned.push_back(key_rule_for(request.api_key_per_hour, 3600));
      rules.push_back(p.owned.back().get());
    }
  }
  std::vector<const RateLimitRule*> matched;
  if (!p.table->empty()) {
    p.table->match(request.path, matched);
    rules.insert(rules.end(), matched.begin(), matched.end());
  }
  const bool internal = request.route != nullptr && request.route->service == "internal";
  if (rules.empty() && default_rule_ && !internal) {
    p.owned.push_back(default_rule_);
    rules.push_back(default_rule_.get());
  }
  if (rules.empty()) return p;

  CallerIdentity caller;
  if (request.subject) caller.subject = std::string(*request.subject);
  if (request.api_key_id) caller.api_key_id = std::string(*request.api_key_id);
  caller.client_ip = !request.client_ip.empty()
                         ? std::string(request.client_ip)
                         : resolve_client_ip(request.peer, request.x_forwarded_for,
                                             service_->settings().trusted_proxies);
  if (request.route != nullptr) caller.route_name = request.route->name;

  for (const RateLimitRule* rule : rules) {
    PlannedRule planned;
    planned.rule = rule;
    planned.identity = bucket_identity(rule->type, caller);
    planned.key = RedisBucketScript::key(rule->name, planned.identity);
    p.rules.push_back(std::move(planned));
  }
  return p;
}

asio::awaitable<RateLimitDecision> RateLimiter::check(const RateLimitRequest& request) {
  if (!service_->settings().enabled) return ready(RateLimitDecision{});
  Plan p = plan(request);
  if (p.rules.empty()) return ready(RateLimitDecision{});
  if (service_->settings().backend == Backend::kLocal || !redis_) {
    RateLimitDecision d = decide_local(p, service_->local_buckets(), DecisionSource::kLocal, 1);
    account(p, d);
    return ready(std::move(d));
  }
  if (!leases_.empty()) {
    if (auto d = decide_from_leases(p, Clock::now())) {
      account(p, *d);
      return ready(std::move(*d));
    }
  }
  return decide_redis(shared_from_this(), std::move(p));
}

std::uint32_t RateLimiter::lease_cap(const TokenBucketParams& bucket) const noexcept {
  const auto percent = service_->settings().redis_lease_percent;
  const auto cap = static_cast<std::uint32_t>(std::floor(bucket.capacity * percent / 100.0));
  return cap >= 2 ? cap : 0;  // small buckets stay exact: one Redis call per request
}

RateLimiter::Lease* RateLimiter::lease_for(const std::string& key, Clock::time_point now) {
  if (auto it = leases_.find(key); it != leases_.end()) return &it->second;
  if (leases_.size() >= kMaxLeases) {
    // Forget leases with nothing to give back and no grant on its way.
    std::erase_if(leases_, [now](const auto& entry) {
      const Lease& l = entry.second;
      return !l.asking && (l.tokens < 1 || now >= l.expires + kLeaseTtl);
    });
    if (leases_.size() >= kMaxLeases) return nullptr;
  }
  return &leases_[key];
}

void RateLimiter::note_use(Lease& lease, Clock::time_point now) noexcept {
  if (now - lease.window_start >= kLeaseWindow) {
    lease.last_uses = now - lease.window_start < 2 * kLeaseWindow ? lease.uses : 0;
    lease.uses = 0;
    lease.window_start = now;
  }
  ++lease.uses;
}

std::optional<RateLimitDecision> RateLimiter::decide_from_leases(const Plan& plan,
                                                                 Clock::time_point now) {
  boost::container::small_vector<Lease*, 4> leases;
  for (const auto& r : plan.rules) {
    const auto it = leases_.find(r.key);
    if (it == leases_.end() || it->second.tokens < 1 || now >= it->second.expires) {
      return std::nullopt;
    }
    leases.push_back(&it->second);
  }
  Results results(plan.rules.size());
  for (std::size_t i = 0; i < leases.size(); ++i) {
    Lease& l = *leases[i];
    l.tokens -= 1;
    note_use(l, now);
    results[i].allowed = true;
    results[i].remaining = l.redis_remaining + l.tokens;
    results[i].reset = l.reset;
  }
  return compose(plan, results, true, DecisionSource::kRedis, 1);
}

RateLimitDecision RateLimiter::decide_local(const Plan& plan, LocalBucketStore& store,
                                            DecisionSource source, std::uint32_t divide_by) {
  boost::container::small_vector<LocalBucketStore::Item, 4> items;
  for (const auto& r : plan.rules) {
    items.push_back({r.key, divided(r.rule->bucket, divide_by)});
  }
  Results results(plan.rules.size());
  const bool allowed = store.take_all(items, LocalBucketStore::now_us(), results);
  return compose(plan, results, allowed, source, divide_by);
}

RateLimitDecision RateLimiter::compose(const Plan& plan, const Results& results, bool allowed,
                                       DecisionSource source, std::uint32_t divide_by) {
  RateLimitDecision d;
  d.limited = true;
  d.allowed = allowed;
  d.source = source;
  d.rules.reserve(plan.rules.size());
  std::size_t pick = 0;
  for (std::size_t i = 0; i < plan.rules.size(); ++i) {
    const RateLimitRule& rule = *plan.rules[i].rule;
    const TokenBucketResult& r = results[i];
    RuleOutcome o;
    o.rule = rule.name;
    o.limit = divide_by > 1 ? std::max<std::uint32_t>(1, rule.limit / divide_by) : rule.limit;
    o.window_seconds = rule.window_seconds;
    o.remaining = static_cast<std::uint64_t>(std::max(0.0, std::floor(r.remaining + 1e-9)));
    o.reset_seconds = ceil_seconds(r.reset);
    o.retry_after_seconds = ceil_seconds(r.retry_after);
    o.allowed = r.allowed;
    d.rules.push_back(std::move(o));
    const RuleOutcome& cur = d.rules.back();
    const RuleOutcome& best = d.rules[pick];
    if (i == 0) continue;
    if (!allowed) {
      // The refusing rule that asks for the longest wait decides.
      if (!cur.allowed && (best.allowed || cur.retry_after_seconds > best.retry_after_seconds)) {
        pick = i;
      }
    } else if (cur.remaining < best.remaining) {
      pick = i;  // the rule closest to its limit
    }
  }
  const RuleOutcome& chosen = d.rules[pick];
  d.rule = chosen.rule;
  d.limit = chosen.limit;
  d.window_seconds = chosen.window_seconds;
  d.remaining = chosen.remaining;
  d.reset_seconds = chosen.reset_seconds;
  d.retry_after_seconds = allowed ? 0 : std::max(1u, chosen.retry_after_seconds);
  return d;
}

RateLimitDecision RateLimiter::failure_decision(const Plan& plan, const std::string& reason) {
  const auto& s = service_->settings();
  if (!reason.empty() && !degraded_) {
    set_degraded(true, reason);
    probe_backoff_ = kProbeMin;
    next_probe_ = Clock::now() + probe_backoff_;
  }
  RateLimitDecision d;
  switch (s.failure_mode) {
    case FailureMode::kLocal:
      d = decide_local(plan, service_->fallback_buckets(), DecisionSource::kFallbackLocal,
                       s.expected_replicas);
      break;
    case FailureMode::kOpen:
    case FailureMode::kClosed: {
      const bool open = s.failure_mode == FailureMode::kOpen;
      Results results(plan.rules.size());
      for (std::size_t i = 0; i < plan.rules.size(); ++i) {
        results[i].allowed = open;
        results[i].retry_after = open ? std::chrono::microseconds(0) : std::chrono::seconds(1);
      }
      d = compose(plan, results, open,
                  open ? DecisionSource::kFailOpen : DecisionSource::kFailClosed, 1);
      d.state_known = false;
      break;
    }
  }
  account(plan, d);
  return d;
}

void RateLimiter::set_degraded(bool degraded, const std::string& reason) {
  if (degraded == degraded_) return;
  degraded_ = degraded;
  if (!degraded) probe_backoff_ = std::chrono::milliseconds(0);
  logging::app().debug("rate limiter worker {}: {}", degraded ? "degraded" : "recovered", reason);
  service_->report_degraded(degraded, reason);
}

RateLimiter::DecisionCounters& RateLimiter::counters(const std::string& rule) {
  auto it = counters_.find(rule);
  if (it != counters_.end()) return it->second;
  if (counters_.size() >= kMaxCachedRouteRules) counters_.clear();
  auto& registry = metrics::Registry::global();
  constexpr std::string_view kName = "gatewayd_ratelimit_decisions_total";
  constexpr std::string_view kHelp =
      "Rate-limit decisions per rule: allowed, denied by this rule, or denied by another rule "
      "applied to the same request";
  DecisionCounters c;
  c.allowed = &registry.counter(kName, kHelp, {{"rule", rule}, {"result", "allowed"}});
  c.denied = &registry.counter(kName, kHelp, {{"rule", rule}, {"result", "denied"}});
  c.denied_by_other =
      &registry.counter(kName, kHelp, {{"rule", rule}, {"result", "denied_by_other"}});
  return counters_.emplace(rule, c).first->second;
}

void RateLimiter::account(const Plan& plan, const RateLimitDecision& decision) {
  const bool records = service_->records_enabled();
  const SystemTime now = records ? std::chrono::system_clock::now() : SystemTime{};
  for (std::size_t i = 0; i < plan.rules.size(); ++i) {
    const auto& planned = plan.rules[i];
    DecisionCounters& c = counters(planned.rule->name);
    if (decision.allowed) {
      c.allowed->inc();
    } else if (i < decision.rules.size() && !decision.rules[i].allowed) {
      c.denied->inc();
    } else {
      c.denied_by_other->inc();
    }
    if (records) service_->records().count(planned.identity, *planned.rule, now);
  }
}

asio::awaitable<RateLimitDecision> RateLimiter::decide_redis(std::shared_ptr<RateLimiter> self,
                                                             Plan plan) {
  const auto now = Clock::now();
  // While degraded, Redis is tried again only once its connection is back and the probe backoff
  // has passed; everything else goes straight to the failure mode.
  if (self->degraded_) {
    if (!self->redis_->ready() || now < self->next_probe_) {
      co_return self->failure_decision(plan, std::string());
    }
    // This request probes Redis; the others stay on the failure mode until it has answered,
    // and the pause before the next probe doubles in case this one fails too.
    self->probe_backoff_ = std::min(self->probe_backoff_ * 2, kProbeMax);
    self->next_probe_ = now + self->probe_backoff_;
  }
  // Shutdown waits for the calls on their way (a lease grant among them goes back).
  ++self->redis_calls_;
  const OnExit done{[&self] { self->redis_call_done(); }};
  const auto deadline = now + self->service_->settings().redis_timeout;
  const std::size_t n = plan.rules.size();
  Results results(n);

  // Hot buckets ask for a lease on top of this request's token (not once stopping); an expired
  // lease gives back what it did not spend first.
  boost::container::small_vector<std::uint32_t, 4> extras(n, 0);
  boost::container::small_vector<std::uint32_t, 4> granted(n, 0);
  bool leasing = false;
  for (std::size_t i = 0; i < n && !self->stopped_; ++i) {
    const auto& planned = plan.rules[i];
    const std::uint32_t cap = self->lease_cap(planned.rule->bucket);
    if (cap == 0) continue;
    Lease* l = self->lease_for(planned.key, now);
    if (l == nullptr) continue;
    leasing = true;
    if (now >= l->expires) {
      if (l->tokens >= 1) {
        self->spawn_refund(planned.key, planned.rule->bucket,
                           static_cast<int>(std::floor(l->tokens)), deadline);
      }
      l->tokens = 0;
    }
    note_use(*l, now);
    const std::uint32_t want = std::min(cap, std::max(l->uses, l->last_uses) / 2);
    if (!l->asking && want > l->tokens + 1) {
      extras[i] = want - static_cast<std::uint32_t>(l->tokens);
      l->asking = true;
    }
  }

  // Groups of buckets decided by one script call: everything at once on a standalone server;
  // per slot in a cluster.
  std::vector<std::vector<std::size_t>> groups;
  if (!self->redis_->cluster()) {
    groups.emplace_back(n);
    for (std::size_t i = 0; i < n; ++i) groups[0][i] = i;
  } else {
    std::vector<std::uint16_t> slots;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint16_t slot = redis_key_slot(plan.rules[i].key);
      const auto at = std::find(slots.begin(), slots.end(), slot);
      if (at == slots.end()) {
        slots.push_back(slot);
        groups.push_back({i});
      } else {
        groups[static_cast<std::size_t>(at - slots.begin())].push_back(i);
      }
    }
  }

  bool allowed = true;
  std::vector<std::size_t> charged;  // groups that took tokens
  std::string failure;
  std::size_t evaluated = 0;
  for (std::size_t g = 0; g < groups.size() && allowed; ++g, ++evaluated) {
    const auto& group = groups[g];
    boost::container::small_vector<std::string_view, 4> keys;
    boost::container::small_vector<TokenBucketParams, 4> params;
    boost::container::small_vector<std::uint32_t, 4> group_extras;
    for (const std::size_t i : group) {
      keys.push_back(plan.rules[i].key);
      params.push_back(plan.rules[i].rule->bucket);
      group_extras.push_back(extras[i]);
    }
    Results group_results(group.size());
    boost::container::small_vector<std::uint32_t, 4> group_granted(group.size(), 0);
    const BucketVerdict verdict = co_await self->batcher_->decide(
        BucketCall{keys, params, 1, group_extras}, deadline, group_results, group_granted);
    if (!verdict.failure.empty()) {
      failure = verdict.failure;
      break;
    }
    for (std::size_t k = 0; k < group.size(); ++k) {
      results[group[k]] = group_results[k];
      granted[group[k]] = group_granted[k];
    }
    if (verdict.allowed) {
      charged.push_back(g);
    } else {
      allowed = false;
    }
  }

  if (leasing) self->adopt_grants(plan, extras, granted, results);

  const bool give_back = !failure.empty() || !allowed;
  if (give_back && !charged.empty()) {
    // Another group refused (or failed): return the tokens this request took elsewhere.
    // One decision per bucket (buckets of a cluster may live in different slots); refunds
    // are rare and nobody waits for them.
    const auto refund_deadline = Clock::now() + self->service_->settings().redis_timeout;
    for (const std::size_t g : charged) {
      for (const std::size_t i : groups[g]) {
        self->spawn_refund(plan.rules[i].key, plan.rules[i].rule->bucket, 1, refund_deadline);
      }
    }
  }
  if (!failure.empty()) co_return self->failure_decision(plan, failure);

  // Groups after a refusal were not evaluated: report them at their full limit.
  for (std::size_t g = evaluated; g < groups.size(); ++g) {
    for (const std::size_t i : groups[g]) {
      results[i].allowed = true;
      results[i].remaining = plan.rules[i].rule->bucket.capacity;
    }
  }
  self->set_degraded(false, "redis answered");
  RateLimitDecision d = self->compose(plan, results, allowed, DecisionSource::kRedis, 1);
  self->account(plan, d);
  co_return d;
}

void RateLimiter::adopt_grants(const Plan& plan, std::span<const std::uint32_t> extras,
                               std::span<const std::uint32_t> granted, Results& results) {
  const auto now = Clock::now();
  for (std::size_t i = 0; i < plan.rules.size(); ++i) {
    const auto it = leases_.find(plan.rules[i].key);
    if (it == leases_.end()) continue;
    Lease& l = it->second;
    if (extras[i] > 0) l.asking = false;
    if (granted[i] > 0 && stopped_) {
      // Stopping: a grant that lands now is not spent here, it goes straight back.
      spawn_refund(plan.rules[i].key, plan.rules[i].rule->bucket, static_cast<int>(granted[i]),
                   shutting_down_ ? shutdown_deadline_ : now + service_->settings().redis_timeout);
    } else if (granted[i] > 0) {
      l.tokens += granted[i];
      l.bucket = plan.rules[i].rule->bucket;
      l.expires = now + kLeaseTtl;
      schedule_lease_sweep();
      l.redis_remaining = results[i].remaining;
      l.reset = results[i].reset;
    }
    // What the caller may still spend includes what this worker holds.
    if (l.tokens >= 1 && now < l.expires) results[i].remaining += std::floor(l.tokens);
  }
}

asio::awaitable<std::string> RateLimiter::refund(std::shared_ptr<RateLimiter> self, std::string key,
                                                 TokenBucketParams bucket, int tokens,
                                                 Clock::time_point deadline) {
  const std::string_view keys[] = {key};
  const TokenBucketParams params[] = {bucket};
  TokenBucketResult ignored[1];
  BucketVerdict verdict =
      co_await self->batcher_->decide(BucketCall{keys, params, -tokens, {}}, deadline, ignored);
  co_return std::move(verdict.failure);
}

}  // namespace gatewayd::ratelimit
