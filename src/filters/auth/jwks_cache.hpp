#pragma once
// The current JWKS key set of one issuer, shared by every worker. Readers take an immutable
// snapshot (an atomic shared_ptr load); a background thread refreshes it before it gets old,
// and a token with an unknown kid can ask for one early refetch. That refetch is single-flight
// (concurrent askers share one fetch) and rate-limited (at most one per
// `unknown_kid_interval`), so a flood of tokens with made-up kids costs at most one fetch per
// interval. A fetch that fails or returns something that is not a usable JWKS never replaces
// the last good set.
//
// The fetch itself is injected: a blocking callable with its own deadline that returns the
// document body, or nullopt on any failure. It only ever runs on the cache's thread (or on the
// caller of refresh_now()), never on an event loop.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "filters/auth/key_set.hpp"

namespace gatewayd::auth {

class JwksCache {
 public:
  using Fetcher = std::function<std::optional<std::string>()>;
  using Clock = std::chrono::steady_clock;

  struct Options {
    // A fetched set counts as fresh this long; the background refresh runs at
    // `refresh_ahead` of it, so readers never see a set older than `ttl` while the source works.
    std::chrono::milliseconds ttl{std::chrono::minutes(10)};
    double refresh_ahead = 0.8;
    std::chrono::milliseconds retry_interval{std::chrono::seconds(15)};  // after a failure
    std::chrono::milliseconds unknown_kid_interval{std::chrono::seconds(30)};
    std::size_t max_document_bytes = 1 << 20;
    std::size_t max_keys = 100;
    std::size_t max_waiters = 10'000;  // callers parked on a refetch; more get an answer at once
    KeySet static_keys;                // served in front of the fetched keys
  };

  struct Stats {
    std::uint64_t fetches = 0;              // fetch attempts of any kind
    std::uint64_t failures = 0;             // attempts that kept the previous set
    std::uint64_t unknown_kid_fetches = 0;  // attempts triggered by an unknown kid
    std::uint64_t rate_limited = 0;         // unknown-kid requests answered without a fetch
    std::uint64_t key_set_changes = 0;      // times a different set was published
  };

  JwksCache(Options options, Fetcher fetch);
  ~JwksCache();
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  // Starts the refresh thread; the first fetch happens at once unless refresh_now() already
  // produced a set.
  void start();
  // Stops the thread after any fetch in progress; parked callers are answered.
  void stop();

  // Fetches synchronously on the calling thread (start-up, tests). Joins a fetch already in
  // progress instead of starting a second one. True when a good set is installed afterwards.
  bool refresh_now();

  // The set to verify with: static keys plus the last good fetched keys. Never null.
  std::shared_ptr<const KeySet> keys() const noexcept { return keys_.load(); }

  // A token named a kid the current set does not have. Runs `done` once the refetch it
  // triggers (or joins) has finished, or immediately when rate-limited, stopped or not
  // started. `done` may run on the refresh thread: it must be short and must not block
  // (post to an io_context).
  void refetch_unknown_kid(std::function<void()> done);

  // Seconds since the last successful fetch (unchanged documents count); nullopt before the
  // first. For the key-set age gauge.
  std::optional<double> age_seconds() const noexcept;
  Stats stats() const;
  // Why the last failed fetch failed: a fixed text, empty after a success.
  std::string last_error() const;

 private:
  void run();
  // One fetch and, when good, a publish. Called with no lock held by exactly one thread at a
  // time (guarded by in_flight_).
  bool fetch_and_install(std::string& error);
  void finish_flight(std::unique_lock<std::mutex>& lock, bool ok, const std::string& error);

  const Options options_;
  const Fetcher fetch_;
  std::atomic<std::shared_ptr<const KeySet>> keys_;
  std::atomic<std::int64_t> last_success_ns_{-1};  // Clock ticks; -1 = never

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  bool in_flight_ = false;
  bool current_is_unknown_kid_ = false;
  bool pending_ = false;  // an unknown-kid fetch waits to start
  std::vector<std::function<void()>> waiting_current_;
  std::vector<std::function<void()>> waiting_next_;
  Clock::time_point next_refresh_{};
  std::optional<Clock::time_point> last_unknown_kid_fetch_;
  std::string last_body_;  // only touched by the thread holding the flight
  std::string last_error_;
  Stats stats_;
  std::thread thread_;
};

}  // namespace gatewayd::auth
