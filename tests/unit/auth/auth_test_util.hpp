#pragma once
// Helpers for the auth filter, runtime and token endpoint tests: running coroutines on a test
// io_context, settings as the loader would produce them, a record sink that keeps audit
// records, and a clock the test moves by hand.
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gatewayd/records.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd::auth::testing {

// Runs `io` until `aw` completes. Background work (Redis connections) may keep the context
// busy forever, so this runs one handler at a time and gives up after `limit` (a hang fails
// the test instead of blocking the suite).
template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> aw,
      std::chrono::seconds limit = std::chrono::seconds(20)) {
  std::optional<T> out;
  std::exception_ptr error;
  if (io.stopped()) io.restart();
  boost::asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T value) {
    error = e;
    out.emplace(std::move(value));
  });
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!out && !error && std::chrono::steady_clock::now() < until) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  if (error) std::rethrow_exception(error);
  if (!out) throw std::runtime_error("coroutine did not finish in time");
  return std::move(*out);
}

// Settings with `values` on top of the table defaults (what load_settings would resolve).
inline Settings make_settings(const std::map<std::string, std::string>& values) {
  Settings s;
  for (const auto& [k, v] : values) s.raw[k] = v;
  return s;
}

class AuditCapture : public RecordSink {
 public:
  void submit(Record record) noexcept override {
    std::lock_guard lock(mu_);
    if (auto* a = std::get_if<AuditRecord>(&record)) records_.push_back(std::move(*a));
  }
  std::vector<AuditRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  std::vector<AuditRecord> of_type(const std::string& type) const {
    std::vector<AuditRecord> out;
    for (auto& r : records()) {
      if (r.event_type == type) out.push_back(r);
    }
    return out;
  }
  void clear() {
    std::lock_guard lock(mu_);
    records_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<AuditRecord> records_;
};

// A clock tests advance explicitly; safe to read from any thread.
class ManualClock {
 public:
  explicit ManualClock(SystemTime start) : now_ns_(ns(start)) {}
  SystemTime now() const {
    return SystemTime(
        std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(now_ns_.load())));
  }
  void advance(std::chrono::nanoseconds d) { now_ns_ += d.count(); }
  std::function<SystemTime()> fn() {
    return [this] { return now(); };
  }

 private:
  static std::int64_t ns(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> now_ns_;
};

}  // namespace gatewayd::auth::testing
