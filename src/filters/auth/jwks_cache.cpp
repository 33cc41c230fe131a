#include "filters/auth/jwks_cache.hpp"

#include "filters/auth/key_loader.hpp"

namespace gatewayd::auth {
namespace {

void run_all(std::vector<std::function<void()>>& callbacks) noexcept {
  for (auto& cb : callbacks) {
    try {
      cb();
    } catch (...) {
      // A caller's continuation failing must not stop the refresh thread.
    }
  }
  callbacks.clear();
}

}  // namespace

JwksCache::JwksCache(Options options, Fetcher fetch)
    : options_(std::move(options)),
      fetch_(std::move(fetch)),
      keys_(std::make_shared<const KeySet>(options_.static_keys)) {}

JwksCache::~JwksCache() {
  stop();
}

void JwksCache::start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void JwksCache::stop() {
  std::vector<std::function<void()>> parked;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    parked.swap(waiting_next_);
    for (auto& cb : waiting_current_) parked.push_back(std::move(cb));
    waiting_current_.clear();
    pending_ = false;
  }
  run_all(parked);
}

bool JwksCache::fetch_and_install(std::string& error) {
  std::optional<std::string> body;
  try {
    body = fetch_();
  } catch (...) {
    body.reset();
  }
  if (!body) {
    error = "JWKS fetch failed";
    return false;
  }
  const bool have_fetched = last_success_ns_.load() >= 0;
  if (!have_fetched || *body != last_body_) {
    auto parsed = parse_jwks(*body, options_.max_document_bytes, options_.max_keys);
    if (!parsed) {
      error = "JWKS document is not a key set";
      return false;
    }
    if (parsed->keys.empty()) {
      error = "JWKS document has no usable signing key";
      return false;
    }
    keys_.store(std::make_shared<const KeySet>(KeySet::merge(options_.static_keys, parsed->keys)));
    last_body_ = std::move(*body);
    std::lock_guard lock(mu_);
    ++stats_.key_set_changes;
  }
  last_success_ns_.store(Clock::now().time_since_epoch().count());
  return true;
}

void JwksCache::finish_flight(std::unique_lock<std::mutex>& lock, bool ok,
                              const std::string& error) {
  in_flight_ = false;
  ++stats_.fetches;
  if (ok) {
    last_error_.clear();
  } else {
    ++stats_.failures;
    last_error_ = error;
  }
  const auto now = Clock::now();
  const auto ahead =
      std::chrono::duration_cast<Clock::duration>(options_.ttl * options_.refresh_ahead);
  next_refresh_ = now + (ok ? ahead : std::min<Clock::duration>(options_.retry_interval, ahead));
  std::vector<std::function<void()>> done;
  done.swap(waiting_current_);
  lock.unlock();
  cv_.notify_all();
  run_all(done);
  lock.lock();
}

bool JwksCache::refresh_now() {
  std::unique_lock lock(mu_);
  if (in_flight_) {
    cv_.wait(lock, [this] { return !in_flight_; });
    return last_success_ns_.load() >= 0 && last_error_.empty();
  }
  in_flight_ = true;
  current_is_unknown_kid_ = false;
  lock.unlock();
  std::string error;
  bool ok = fetch_and_install(error);
  lock.lock();
  finish_flight(lock, ok, error);
  return ok;
}

void JwksCache::run() {
  // next_refresh_ is still the epoch unless refresh_now() ran: then the first fetch is now.
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const bool due = !in_flight_ && (pending_ || Clock::now() >= next_refresh_);
    if (!due) {
      if (in_flight_) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, next_refresh_);
      }
      continue;
    }
    in_flight_ = true;
    current_is_unknown_kid_ = pending_;
    pending_ = false;
    for (auto& cb : waiting_next_) waiting_current_.push_back(std::move(cb));
    waiting_next_.clear();
    lock.unlock();
    std::string error;
    bool ok = fetch_and_install(error);
    lock.lock();
    finish_flight(lock, ok, error);
  }
}

void JwksCache::refetch_unknown_kid(std::function<void()> done) {
  {
    std::unique_lock lock(mu_);
    const std::size_t parked = waiting_current_.size() + waiting_next_.size();
    if (started_ && !stopping_ && parked < options_.max_waiters) {
      if (pending_) {
        waiting_next_.push_back(std::move(done));
        return;
      }
      if (in_flight_ && current_is_unknown_kid_) {
        waiting_current_.push_back(std::move(done));
        return;
      }
      const auto now = Clock::now();
      if (!last_unknown_kid_fetch_ ||
          now - *last_unknown_kid_fetch_ >= options_.unknown_kid_interval) {
        last_unknown_kid_fetch_ = now;
        pending_ = true;
        ++stats_.unknown_kid_fetches;
        waiting_next_.push_back(std::move(done));
        lock.unlock();
        cv_.notify_all();
        return;
      }
      ++stats_.rate_limited;
    }
  }
  done();
}

std::optional<double> JwksCache::age_seconds() const noexcept {
  const auto last = last_success_ns_.load();
  if (last < 0) return std::nullopt;
  const auto age = Clock::now().time_since_epoch() - Clock::duration(last);
  return std::chrono::duration<double>(age).count();
}

JwksCache::Stats JwksCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::string JwksCache::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace gatewayd::auth
