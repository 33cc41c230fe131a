#pragma once
// Long-lived coroutines ("watches") keyed by name on one executor, each with its own terminal
// cancellation and a stop flag, and a way to wait for all of them to end. Providers run one
// watch per service; stopping a provider cancels the in-flight call (a Consul long poll, an
// etcd watch stream) instead of waiting for it to time out.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace gatewayd::discovery {

// Set when the watch is asked to stop; loops check it between calls.
using StopFlag = std::shared_ptr<const std::atomic<bool>>;

class WatchGroup {
 public:
  using Factory = std::function<boost::asio::awaitable<void>(StopFlag)>;

  WatchGroup(boost::asio::any_io_executor executor, std::string name);
  ~WatchGroup();  // shutdown(5 s)
  WatchGroup(const WatchGroup&) = delete;
  WatchGroup& operator=(const WatchGroup&) = delete;

  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

  // Starts factory(stop) under `key` unless a watch with that key runs. Thread-safe.
  void start(const std::string& key, Factory factory);
  // Asks the watch to stop (cancels its pending operation). Thread-safe, returns at once.
  void cancel(const std::string& key);
  void cancel_all();
  // Blocks until no watch runs or `timeout` passes; false on timeout. Call it from a thread
  // other than the executor's.
  bool wait_idle(std::chrono::milliseconds timeout);
  // cancel_all() then wait_idle(); later start() calls are ignored.
  bool shutdown(std::chrono::milliseconds timeout);

  bool running(const std::string& key) const;
  std::size_t size() const;

 private:
  struct Entry {
    boost::asio::cancellation_signal signal;
    std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  };

  void finished(const std::string& key, const std::shared_ptr<Entry>& entry,
                std::exception_ptr error);

  boost::asio::any_io_executor executor_;
  std::string name_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool closed_ = false;
};

}  // namespace gatewayd::discovery
