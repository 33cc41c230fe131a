#pragma once
// Helpers for driving RateLimiter coroutines from tests.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <vector>

#include "filters/rate_limit/rate_limiter.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd::ratelimit::test {

// Runs `io` until `aw` completes. Background tasks (Redis connections) keep the context busy,
// so run() would never return; bounded so a hang fails instead of blocking the suite.
template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> aw,
      std::chrono::seconds limit = std::chrono::seconds(20)) {
  std::optional<T> out;
  std::exception_ptr error;
  // A context that ran out of work stops; it must be restarted before it runs anything again.
  if (io.stopped()) io.restart();
  boost::asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T value) {
    error = e;
    out.emplace(std::move(value));
  });
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!out && std::chrono::steady_clock::now() < until) {
    io.run_one_for(std::chrono::milliseconds(50));
  }
  if (error) std::rethrow_exception(error);
  if (!out) throw std::runtime_error("coroutine did not finish in time");
  return std::move(*out);
}

inline void spin(boost::asio::io_context& io, std::chrono::milliseconds d) {
  if (io.stopped()) io.restart();
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) io.run_one_for(std::chrono::milliseconds(10));
}

class CaptureSink : public RecordSink {
 public:
  void submit(Record record) noexcept override {
    std::lock_guard lock(mutex);
    if (auto* r = std::get_if<RateLimitRecord>(&record)) rows.push_back(std::move(*r));
  }
  std::uint64_t total() {
    std::lock_guard lock(mutex);
    std::uint64_t n = 0;
    for (const auto& r : rows) n += r.request_count;
    return n;
  }
  std::mutex mutex;
  std::vector<RateLimitRecord> rows;
};

}  // namespace gatewayd::ratelimit::test
