#include "server/timed_socket.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

namespace gatewayd {

namespace asio = boost::asio;

DrainedReadReactor& reactor_of(asio::ip::tcp::socket& socket) {
  return asio::use_service<DrainedReadReactor>(
      asio::query(socket.get_executor(), asio::execution::context));
}

namespace timed_socket_detail {

State::State(asio::ip::tcp::socket s)
    : socket(std::move(s)), timer(socket.get_executor()), reactor(reactor_of(socket)) {}

}  // namespace timed_socket_detail

TimedSocket::TimedSocket(asio::ip::tcp::socket socket)
    : state_(std::make_shared<State>(std::move(socket))) {}

TimedSocket::TimedSocket(const executor_type& ex)
    : state_(std::make_shared<State>(asio::ip::tcp::socket(ex))) {}

TimedSocket::~TimedSocket() {
  // Operations still pending (and the timer's wait) hold the state; closing completes them.
  if (state_) close();
}

void TimedSocket::cancel() {
  boost::system::error_code ec;
  state_->socket.cancel(ec);
}

void TimedSocket::close() {
  boost::system::error_code ec;
  state_->socket.close(ec);
  if (state_->timer_pending) {
    ++state_->generation;
    state_->timer_pending = false;
    state_->timer.cancel();
  }
}

bool TimedSocket::read_now(asio::mutable_buffer buffer, boost::system::error_code& ec,
                           std::size_t& n) {
  // Asio's own non-blocking receive (EINTR retried, 0 bytes reported as eof): false means
  // the socket had nothing.
  return asio::detail::socket_ops::non_blocking_recv1(state_->socket.native_handle(), buffer.data(),
                                                      buffer.size(), 0, true, ec, n);
}

void TimedSocket::arm() {
  arm(state_);
}

void TimedSocket::arm(const std::shared_ptr<State>& state) {
  auto& s = *state;
  s.timer.expires_at(s.deadline);  // cancels a wait for another expiry (its handler ignores it)
  s.armed_for = s.deadline;
  s.timer_pending = true;
  const unsigned generation = ++s.generation;
  s.timer.async_wait(
      [state, generation](const boost::system::error_code&) { on_timer(state, generation); });
}

void TimedSocket::on_timer(const std::shared_ptr<State>& state, unsigned generation) {
  auto& s = *state;
  if (generation != s.generation) return;  // superseded by a re-arm, or closed
  s.timer_pending = false;
  if (s.pending == 0 || s.deadline == clock::time_point::max()) return;  // the next op re-arms
  if (clock::now() < s.deadline) {
    arm(state);  // the deadline moved later since the timer was set
    return;
  }
  s.timed_out = true;
  boost::system::error_code ec;
  s.socket.cancel(ec);
}

}  // namespace gatewayd
