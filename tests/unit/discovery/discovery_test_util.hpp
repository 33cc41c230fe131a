#pragma once
// Shared pieces of the discovery tests: a control io_context on its own thread, a waiter that
// wakes on registry changes, and quick timing options.
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "discovery/discovery_options.hpp"
#include "discovery/discovery_registry.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd::discovery::testing {

inline constexpr std::chrono::milliseconds kWait{15'000};  // bound for any awaited change

class ControlThread {
 public:
  ControlThread() : guard_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~ControlThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return io_.get_executor(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Wakes on every registry change; wait_for() re-checks a condition after each one.
class ChangeWaiter {
 public:
  explicit ChangeWaiter(DiscoveryRegistry& registry) : registry_(registry) {
    id_ = registry_.subscribe([this](const DiscoveryChange& change) {
      std::lock_guard lock(mutex_);
      changes_.push_back(change);
      cv_.notify_all();
    });
  }
  ~ChangeWaiter() { registry_.unsubscribe(id_); }

  bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, condition);
  }

  // A change matching `match` was notified. The registry publishes a set before it notifies
  // subscribers, so a condition on the current set can hold before the change is recorded here.
  bool wait_for_change(const std::function<bool(const DiscoveryChange&)>& match,
                       std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout,
                        [&] { return std::any_of(changes_.begin(), changes_.end(), match); });
  }

  std::vector<DiscoveryChange> changes() {
    std::lock_guard lock(mutex_);
    return changes_;
  }

 private:
  DiscoveryRegistry& registry_;
  DiscoveryRegistry::SubscriptionId id_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<DiscoveryChange> changes_;
};

// For state that is not a registry change (error counters, fake-server observations): polls
// with a bounded deadline.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline BackoffOptions quick_backoff() {
  return {std::chrono::milliseconds(20), std::chrono::milliseconds(200), 2.0};
}

// The endpoint with `id` in the current set of `service`, or null.
inline const DiscoveredEndpoint* find_endpoint(const EndpointSetPtr& set, const std::string& id) {
  return set ? set->find(id) : nullptr;
}

class CapturingSink final : public RecordSink {
 public:
  void submit(Record record) noexcept override {
    std::lock_guard lock(mutex_);
    records_.push_back(std::move(record));
  }
  std::vector<ServiceInstanceRecord> instances() {
    std::lock_guard lock(mutex_);
    std::vector<ServiceInstanceRecord> out;
    for (const auto& r : records_) {
      if (const auto* i = std::get_if<ServiceInstanceRecord>(&r)) out.push_back(*i);
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<Record> records_;
};

}  // namespace gatewayd::discovery::testing
