#pragma once
// A TCP stream with deadlines, for both sides of the proxy (and under TLS), built for the
// per-request cost of a busy worker. It replaces beast::tcp_stream there for two reasons:
//
// Reads that know when the socket is empty. Asio attempts every read at once and, when the
// socket has nothing, waits for the next readiness event and reads again: a failed system call
// on almost every read of a proxy, since a client's next request and an upstream's answer
// never arrive before they are awaited. Here a read that returns fewer bytes than asked for
// marks the socket drained (the reactor's "exhausted" state), and the next read waits for the
// edge-triggered readiness event without trying first, as NGINX does with its `ready` flag.
// Data that arrives after the short read raises a new event, so nothing is missed.
//
// Deadlines without a timer operation per read and write. beast::tcp_stream arms and cancels a
// timer around every operation; here one timer per stream is armed lazily: moving a deadline
// later costs nothing, and the timer, when it fires early, re-arms for the current deadline.
// On expiry the pending operations are cancelled and complete with beast::error::timeout (the
// socket stays open, so the caller can still answer, e.g. 408); an operation started after the
// deadline passed completes with the same error until a new deadline is set.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

#include "server/drained_read.hpp"

namespace gatewayd {

namespace timed_socket_detail {

struct State {
  explicit State(boost::asio::ip::tcp::socket s);
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;
  DrainedReadReactor& reactor;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // The timer's expiry while a wait is pending.
  std::chrono::steady_clock::time_point armed_for = std::chrono::steady_clock::time_point::max();
  unsigned pending = 0;     // operations started and not completed
  unsigned generation = 0;  // tells the current timer wait from superseded ones
  bool timer_pending = false;
  bool timed_out = false;
  bool eager_reads = false;
};

// Wraps a caller's handler: counts the operation done and reports a cancellation caused by the
// deadline as beast::error::timeout. Keeps the state alive while the operation is pending.
template <class Handler>
struct Completion {
  Handler handler;
  std::shared_ptr<State> state;

  template <class... Args>
  void operator()(boost::system::error_code ec, Args&&... args) {
    --state->pending;
    if (state->timed_out && ec == boost::asio::error::operation_aborted) {
      ec = boost::beast::error::timeout;
    }
    state.reset();
    std::move(handler)(ec, std::forward<Args>(args)...);
  }
};

}  // namespace timed_socket_detail

class TimedSocket {
  // The completion signature of an operation, for completing it with timeout.
  enum class Completes { kWithBytes, kWithEndpoint, kWithErrorOnly };

 public:
  using executor_type = boost::asio::any_io_executor;
  using clock = std::chrono::steady_clock;

  explicit TimedSocket(boost::asio::ip::tcp::socket socket);
  explicit TimedSocket(const executor_type& ex);
  TimedSocket(const TimedSocket&) = delete;
  TimedSocket& operator=(const TimedSocket&) = delete;
  ~TimedSocket();

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return state_->socket; }
  // For asio::ssl::stream, which layers over this.
  using lowest_layer_type = boost::asio::ip::tcp::socket::lowest_layer_type;
  lowest_layer_type& lowest_layer() noexcept { return state_->socket.lowest_layer(); }

  // The deadline of the operations that follow, until the next call.
  template <class Rep, class Period>
  void expires_after(std::chrono::duration<Rep, Period> d) {
    expires_at(clock::now() + std::chrono::duration_cast<clock::duration>(d));
  }
  void expires_at(clock::time_point t) noexcept {
    state_->deadline = t;
    state_->timed_out = false;
  }
  void expires_never() noexcept { expires_at(clock::time_point::max()); }

  // Pending reads and writes complete with operation_aborted.
  void cancel();
  void close();

  // A short read cannot tell whether the peer's FIN is already queued behind the data: the
  // next read then waits for a readiness event that will not come, until its deadline. Where
  // the end of the stream is the expected end of what is read (close-delimited bodies,
  // tunnels, the lingering close), reads are eager: tried at once, and only an empty socket
  // (one that will signal whatever arrives next) is waited on.
  void set_eager_reads(bool eager) noexcept { state_->eager_reads = eager; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (!begin_operation<Completes::kWithBytes>(handler)) return;
          const boost::asio::mutable_buffer buffer = first_buffer(b);
          Completion<decltype(handler)> done{std::move(handler), state_};
          if (state_->eager_reads && buffer.size() > 0) {
            boost::system::error_code ec;
            std::size_t n = 0;
            if (read_now(buffer, ec, n)) {
              auto ex = boost::asio::get_associated_executor(done.handler, get_executor());
              boost::asio::post(ex, [done = std::move(done), ec, n]() mutable { done(ec, n); });
              return;
            }
          }
          start_drained_read(state_->socket, state_->reactor, buffer, std::move(done));
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (!begin_operation<Completes::kWithBytes>(handler)) return;
          state_->socket.async_write_some(
              b, Completion<decltype(handler)>{std::move(handler), state_});
        },
        token, buffers);
  }

  template <class Token>
  auto async_connect(const boost::asio::ip::tcp::endpoint& endpoint, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler, const boost::asio::ip::tcp::endpoint& ep) {
          if (!begin_operation<Completes::kWithErrorOnly>(handler)) return;
          state_->socket.async_connect(ep,
                                       Completion<decltype(handler)>{std::move(handler), state_});
        },
        token, endpoint);
  }

  // Tries the resolved endpoints in order (one deadline for all of them).
  template <class Token>
  auto async_connect(const boost::asio::ip::tcp::resolver::results_type& endpoints, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code,
                                                   boost::asio::ip::tcp::endpoint)>(
        [this](auto handler, const boost::asio::ip::tcp::resolver::results_type& eps) {
          if (!begin_operation<Completes::kWithEndpoint>(handler)) return;
          boost::asio::async_connect(state_->socket, eps,
                                     Completion<decltype(handler)>{std::move(handler), state_});
        },
        token, endpoints);
  }

 private:
  template <class MutableBufferSequence>
  static boost::asio::mutable_buffer first_buffer(const MutableBufferSequence& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() > 0) return b;
    }
    return {};
  }

  // Counts the operation and makes sure the timer will see its deadline; false when the
  // deadline has already passed (the handler is then completed with timeout, asynchronously).
  template <Completes kind, class Handler>
  bool begin_operation(Handler& handler) {
    auto& s = *state_;
    if (s.deadline != clock::time_point::max()) {
      if (s.timed_out || clock::now() >= s.deadline) {
        s.timed_out = true;
        auto ex = boost::asio::get_associated_executor(handler, get_executor());
        boost::asio::post(
            ex, [h = std::move(handler)]() mutable { complete_with_timeout<kind>(std::move(h)); });
        return false;
      }
      if (!s.timer_pending || s.deadline < s.armed_for) arm();
    }
    ++s.pending;
    return true;
  }

  template <Completes kind, class Handler>
  static void complete_with_timeout(Handler&& h) {
    const boost::system::error_code ec = boost::beast::error::timeout;
    if constexpr (kind == Completes::kWithBytes) {
      std::move(h)(ec, std::size_t{0});
    } else if constexpr (kind == Completes::kWithEndpoint) {
      std::move(h)(ec, boost::asio::ip::tcp::endpoint());
    } else {
      std::move(h)(ec);
    }
  }

  using State = timed_socket_detail::State;
  template <class Handler>
  using Completion = timed_socket_detail::Completion<Handler>;

  // One non-blocking receive: false when the socket has nothing (then nothing was consumed).
  bool read_now(boost::asio::mutable_buffer buffer, boost::system::error_code& ec, std::size_t& n);
  void arm();
  static void arm(const std::shared_ptr<State>& state);
  static void on_timer(const std::shared_ptr<State>& state, unsigned generation);

  std::shared_ptr<State> state_;
};

}  // namespace gatewayd

// The wrapped handler keeps the caller's executor, allocator and cancellation slot, so the
// coroutine resumes where it would have without the wrapper and its frame memory is recycled.
template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct boost::asio::associator<Associator, gatewayd::timed_socket_detail::Completion<Handler>,
                               DefaultCandidate> : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const gatewayd::timed_socket_detail::Completion<Handler>& h,
      const DefaultCandidate& c = DefaultCandidate()) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler, c);
  }
};
