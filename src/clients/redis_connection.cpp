#include "clients/redis_connection.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames (sized operator delete
// of awaitable_frame_base).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <exception>
#include <string_view>
#include <utility>

#include "clients/redis_command.hpp"
#include "gatewayd/logging.hpp"

namespace gatewayd {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

void log_escaped(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logging::error().error("redis connection task failed: {}", ex.what());
  } catch (...) {
    logging::error().error("redis connection task failed");
  }
}

}  // namespace

RedisConnection::RedisConnection(asio::any_io_executor ex, RedisEndpoint endpoint,
                                 RedisOptions options)
    : ex_(std::move(ex)),
      endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      socket_(ex_),
      resolver_(ex_),
      connect_timer_(ex_),
      backoff_timer_(ex_),
      write_signal_(ex_),
      rng_(static_cast<std::minstd_rand::result_type>(
          std::hash<const void*>{}(this) ^
          static_cast<std::size_t>(Clock::now().time_since_epoch().count()))) {}

RedisConnection::~RedisConnection() = default;

void RedisConnection::start() {
  if (state_ != State::kIdle) return;
  state_ = State::kConnecting;
  asio::co_spawn(ex_, run(shared_from_this()), log_escaped);
}

void RedisConnection::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  backoff_timer_.cancel();
  connect_timer_.cancel();
  resolver_.cancel();
  teardown(RedisErrc::kShutdown, "redis client stopped");
}

std::shared_ptr<RedisPending> RedisConnection::submit(const std::string& encoded,
                                                      Clock::time_point deadline) {
  auto pending = std::make_shared<RedisPending>(ex_);
  if (state_ == State::kIdle) start();
  switch (state_) {
    case State::kClosed:
      pending->complete(RedisResult::failure(RedisErrc::kShutdown, "redis client stopped"));
      return pending;
    case State::kBackoff:
      pending->complete(RedisResult::failure(RedisErrc::kNotConnected,
                                             "redis " + endpoint_.str() + " not connected"));
      return pending;
    case State::kConnecting:
      if (!queue_while_connecting_) {
        pending->complete(RedisResult::failure(RedisErrc::kNotConnected,
                                               "redis " + endpoint_.str() + " reconnecting"));
        return pending;
      }
      break;
    case State::kIdle:
    case State::kReady:
      break;
  }
  if (pending_.size() >= options_.max_in_flight) {
    pending->complete(RedisResult::failure(RedisErrc::kQueueFull,
                                           "redis in-flight limit reached on " + endpoint_.str()));
    return pending;
  }
  if (encoded.empty()) {
    pending->complete(RedisResult::failure(RedisErrc::kInvalidCommand, "empty redis command"));
    return pending;
  }
  pending->generation = generation_;
  pending->timer.expires_at(deadline);
  pending_.push_back(pending);
  out_buf_ += encoded;
  if (state_ == State::kReady) write_signal_.cancel();
  return pending;
}

asio::awaitable<RedisResult> RedisConnection::wait(std::shared_ptr<RedisPending> pending) {
  return wait_on(shared_from_this(), std::move(pending));
}

asio::awaitable<RedisResult> RedisConnection::execute(const std::string& encoded,
                                                      Clock::time_point deadline) {
  return wait_on(shared_from_this(), submit(encoded, deadline));
}

asio::awaitable<RedisResult> RedisConnection::wait_on(std::shared_ptr<RedisConnection> self,
                                                      std::shared_ptr<RedisPending> pending) {
  if (!pending->done) {
    auto [ec] = co_await pending->timer.async_wait(as_tuple(use_awaitable));
    if (!pending->done) {
      // The entry stays queued: its reply still arrives in order and is then dropped.
      if (ec == asio::error::operation_aborted) {
        co_return RedisResult::failure(RedisErrc::kTimeout, "redis command cancelled");
      }
      if (self->state_ == State::kReady && pending->generation == self->generation_) {
        self->timed_out_generation_ = self->generation_;
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
      co_return RedisResult::failure(RedisErrc::kTimeout,
                                     "redis " + self->endpoint_.str() + " did not answer in time");
    }
  }
  co_return std::move(pending->result);
}

std::chrono::milliseconds RedisConnection::jittered(std::chrono::milliseconds base) {
  // +-20% so that many workers losing the same server do not reconnect in lock step.
  std::uniform_int_distribution<long> dist(-base.count() / 5, base.count() / 5);
  return std::max(std::chrono::milliseconds(1), base + std::chrono::milliseconds(dist(rng_)));
}

void RedisConnection::teardown(RedisErrc errc, const std::string& message) {
  boost::system::error_code ignored;
  socket_.close(ignored);
  write_signal_.cancel();
  reader_.reset();
  out_buf_.clear();
  auto failed = std::move(pending_);
  pending_.clear();
  for (auto& p : failed) p->complete(RedisResult::failure(errc, message));
}

asio::awaitable<void> RedisConnection::run(std::shared_ptr<RedisConnection> self) {
  auto backoff = self->options_.reconnect_min;
  bool wait_first = false;
  bool was_down = false;
  while (self->state_ != State::kClosed) {
    if (wait_first) {
      self->state_ = State::kBackoff;
      self->backoff_timer_.expires_after(self->jittered(backoff));
      co_await self->backoff_timer_.async_wait(as_tuple(use_awaitable));
      if (self->state_ == State::kClosed) break;
      backoff = std::min(backoff * 2, self->options_.reconnect_max);
    }
    self->state_ = State::kConnecting;
    const std::uint64_t generation = ++self->generation_;
    // Commands queued before this attempt started belong to it.
    for (auto& p : self->pending_) p->generation = generation;
    std::string error;
    const bool ok = co_await self->connect_once(generation, error);
    if (self->state_ == State::kClosed) break;
    if (!ok) {
      if (!was_down) {
        logging::app().warn("redis {}: connect failed: {}", self->endpoint_.str(), error);
        was_down = true;
      }
      self->queue_while_connecting_ = false;
      self->teardown(RedisErrc::kConnectFailed,
                     "redis " + self->endpoint_.str() + " connect failed: " + error);
      wait_first = true;
      continue;
    }
    backoff = self->options_.reconnect_min;
    self->state_ = State::kReady;
    self->queue_while_connecting_ = true;
    ++self->connects_;
    if (was_down || self->connects_ > 1) {
      logging::app().info("redis {}: connected", self->endpoint_.str());
    }
    was_down = false;
    asio::co_spawn(self->ex_, write_loop(self, generation), log_escaped);

    const Loss loss = co_await self->read_loop(generation, error);
    if (self->state_ == State::kClosed || loss == Loss::kClosed) break;
    logging::app().warn("redis {}: connection lost: {}", self->endpoint_.str(), error);
    was_down = true;
    self->teardown(RedisErrc::kConnectionLost,
                   "redis " + self->endpoint_.str() + " connection lost: " + error);
    // A server that closed the connection (restart, idle timeout) is retried at once; one that
    // stopped answering or spoke garbage gets a pause first.
    wait_first = loss != Loss::kIo;
    self->queue_while_connecting_ = !wait_first;
  }
  self->state_ = State::kClosed;
  self->teardown(RedisErrc::kShutdown, "redis client stopped");
}

asio::awaitable<bool> RedisConnection::connect_once(std::uint64_t generation, std::string& error) {
  // A watchdog bounds the whole attempt (resolve, connect, handshake) by closing the socket.
  connect_timed_out_ = false;
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait(
      [weak = weak_from_this(), generation](const boost::system::error_code& ec) {
        if (ec) return;
        auto self = weak.lock();
        if (!self || self->generation_ != generation || self->state_ != State::kConnecting) return;
        self->connect_timed_out_ = true;
        boost::system::error_code ignored;
        self->resolver_.cancel();
        self->socket_.close(ignored);
      });
  struct CancelTimer {
    asio::steady_timer& timer;
    ~CancelTimer() { timer.cancel(); }
  } cancel_timer{connect_timer_};

  auto fail = [&](std::string why) {
    error = connect_timed_out_ ? std::string("timed out") : std::move(why);
    return false;
  };

  auto [rec, results] = co_await resolver_.async_resolve(
      endpoint_.host, std::to_string(endpoint_.port), as_tuple(use_awaitable));
  if (rec || state_ != State::kConnecting) co_return fail("resolve: " + rec.message());
  auto [cec, connected] = co_await asio::async_connect(socket_, results, as_tuple(use_awaitable));
  if (cec || state_ != State::kConnecting) co_return fail(cec.message());
  boost::system::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);

  // Handshake: AUTH, SELECT, then PING so that a server which accepts connections but does not
  // answer (stopped, overloaded) counts as down.
  std::string hello;
  std::size_t expected = 0;
  if (!options_.password.empty()) {
    if (!options_.username.empty()) {
      hello += RedisCommand({"AUTH", options_.username, options_.password}, RedisCommand::kNoKey)
                   .encoded();
    } else {
      hello += RedisCommand({"AUTH", options_.password}, RedisCommand::kNoKey).encoded();
    }
    ++expected;
  }
  if (options_.db != 0 && !options_.cluster) {
    hello += RedisCommand({"SELECT", std::to_string(options_.db)}, RedisCommand::kNoKey).encoded();
    ++expected;
  }
  hello += RedisCommand({"PING"}, RedisCommand::kNoKey).encoded();
  ++expected;
  auto [wec, written] =
      co_await asio::async_write(socket_, asio::buffer(hello), as_tuple(use_awaitable));
  if (wec || state_ != State::kConnecting) co_return fail("write: " + wec.message());

  reader_.reset();
  std::array<char, 4096> buf;
  std::size_t got = 0;
  while (got < expected) {
    RedisReply reply;
    const auto status = reader_.next(reply);
    if (status == RedisReader::Status::kError) co_return fail("protocol error");
    if (status == RedisReader::Status::kReply) {
      if (reply.is_error()) {
        // The reply never holds the password; still, report only its first word.
        const std::string_view line = reply.str;
        const std::string word(line.substr(0, line.find(' ')));
        const bool auth_step = got == 0 && !options_.password.empty();
        co_return fail((auth_step ? "authentication rejected (" : "handshake rejected (") + word +
                       ")");
      }
      ++got;
      continue;
    }
    auto [rec2, n] = co_await socket_.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (rec2 || state_ != State::kConnecting) {
      co_return fail(rec2 == asio::error::eof ? std::string("closed by server")
                                              : "read: " + rec2.message());
    }
    if (!reader_.feed(buf.data(), n)) co_return fail("protocol error");
  }
  if (generation_ != generation) co_return fail("superseded");
  co_return true;
}

asio::awaitable<void> RedisConnection::write_loop(std::shared_ptr<RedisConnection> self,
                                                  std::uint64_t generation) {
  std::string buf;
  while (self->generation_ == generation && self->state_ == State::kReady) {
    if (self->out_buf_.empty()) {
      self->write_signal_.expires_at(Clock::time_point::max());
      co_await self->write_signal_.async_wait(as_tuple(use_awaitable));
      continue;
    }
    buf.clear();
    std::swap(buf, self->out_buf_);
    auto [ec, n] =
        co_await asio::async_write(self->socket_, asio::buffer(buf), as_tuple(use_awaitable));
    if (ec) {
      if (self->generation_ == generation) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);  // the read loop reports the loss
      }
      co_return;
    }
  }
}

asio::awaitable<RedisConnection::Loss> RedisConnection::read_loop(std::uint64_t generation,
                                                                  std::string& error) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), as_tuple(use_awaitable));
    if (state_ == State::kClosed) co_return Loss::kClosed;
    if (ec) {
      if (timed_out_generation_ == generation) {
        error = "command timed out";
        co_return Loss::kTimeout;
      }
      error = ec == asio::error::eof ? std::string("closed by server") : ec.message();
      co_return Loss::kIo;
    }
    if (!reader_.feed(buf.data(), n)) {
      error = "protocol error";
      co_return Loss::kProtocol;
    }
    for (;;) {
      RedisReply reply;
      const auto status = reader_.next(reply);
      if (status == RedisReader::Status::kNeedMore) break;
      if (status == RedisReader::Status::kError) {
        error = "protocol error: " + reader_.error();
        co_return Loss::kProtocol;
      }
      if (pending_.empty()) {
        error = "reply without a command";
        co_return Loss::kProtocol;
      }
      auto pending = std::move(pending_.front());
      pending_.pop_front();
      pending->complete(RedisResult::from_reply(std::move(reply)));
    }
  }
}

}  // namespace gatewayd
