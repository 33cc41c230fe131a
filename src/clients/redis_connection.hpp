#pragma once
// One pipelined connection to one Redis node, driven by Asio on a single executor (a worker's
// io_context): commands are written back to back as they are submitted and their replies are
// matched first-in first-out. hiredis only encodes commands and parses replies.
//
// Life cycle: connect (resolve, TCP, AUTH, SELECT, PING under REDIS connect_timeout) -> ready ->
// on a failure every in-flight command fails and the connection reconnects in the background,
// with exponential backoff after failed attempts. While it is backing off, commands fail at once
// (kNotConnected) instead of waiting, so callers can fall back without paying a timeout.
//
// Not thread-safe: every call must come from the connection's executor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>

#include "clients/redis_options.hpp"
#include "clients/redis_reader.hpp"
#include "clients/redis_reply.hpp"

namespace gatewayd {

// A submitted command waiting for its reply. The timer doubles as the deadline and as the
// wake-up signal (cancelled when the reply arrives).
struct RedisPending {
  explicit RedisPending(const boost::asio::any_io_executor& ex) : timer(ex) {}

  void complete(RedisResult r) {
    if (done) return;
    result = std::move(r);
    done = true;
    timer.cancel();
  }

  boost::asio::steady_timer timer;
  RedisResult result;
  std::uint64_t generation = 0;  // the connection attempt it was written on
  bool done = false;
};

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State : std::uint8_t { kIdle, kConnecting, kReady, kBackoff, kClosed };

  RedisConnection(boost::asio::any_io_executor ex, RedisEndpoint endpoint, RedisOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Starts connecting in the background (idempotent). Commands start it too.
  void start();
  // Stops for good: in-flight commands fail with kShutdown, no reconnect.
  void close();

  // Queues an encoded command. Never suspends, so consecutive submits go out adjacent on the
  // wire (ASKING followed by its command). The returned entry may already be done (fail fast).
  std::shared_ptr<RedisPending> submit(const std::string& encoded, Clock::time_point deadline);
  // Waits for a submitted command's reply, its deadline or cancellation by the caller.
  // A deadline miss on a ready connection closes it: a server that stopped answering would
  // otherwise stall every later command behind the missing reply.
  boost::asio::awaitable<RedisResult> wait(std::shared_ptr<RedisPending> pending);
  // submit + wait. The command is queued when this is called, before the first co_await.
  boost::asio::awaitable<RedisResult> execute(const std::string& encoded,
                                              Clock::time_point deadline);

  State state() const noexcept { return state_; }
  bool ready() const noexcept { return state_ == State::kReady; }
  std::size_t in_flight() const noexcept { return pending_.size(); }
  const RedisEndpoint& endpoint() const noexcept { return endpoint_; }
  // Completed connects and connection losses, for tests and logs.
  std::uint64_t connects() const noexcept { return connects_; }

 private:
  enum class Loss : std::uint8_t { kIo, kTimeout, kProtocol, kClosed };

  static boost::asio::awaitable<RedisResult> wait_on(std::shared_ptr<RedisConnection> self,
                                                     std::shared_ptr<RedisPending> pending);
  static boost::asio::awaitable<void> run(std::shared_ptr<RedisConnection> self);
  static boost::asio::awaitable<void> write_loop(std::shared_ptr<RedisConnection> self,
                                                 std::uint64_t generation);
  boost::asio::awaitable<bool> connect_once(std::uint64_t generation, std::string& error);
  boost::asio::awaitable<Loss> read_loop(std::uint64_t generation, std::string& error);
  void teardown(RedisErrc errc, const std::string& message);
  std::chrono::milliseconds jittered(std::chrono::milliseconds base);

  boost::asio::any_io_executor ex_;
  RedisEndpoint endpoint_;
  RedisOptions options_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer backoff_timer_;
  boost::asio::steady_timer write_signal_;
  RedisReader reader_;
  std::deque<std::shared_ptr<RedisPending>> pending_;
  std::string out_buf_;  // encoded commands not yet handed to the socket
  State state_ = State::kIdle;
  std::uint64_t generation_ = 0;
  std::uint64_t timed_out_generation_ = 0;
  std::uint64_t connects_ = 0;
  // Commands wait for a connect in progress only on the first attempt and right after a ready
  // connection dropped; after a failed attempt they fail fast until a connect succeeds.
  bool queue_while_connecting_ = true;
  bool connect_timed_out_ = false;
  std::minstd_rand rng_;
};

}  // namespace gatewayd
