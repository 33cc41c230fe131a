#pragma once
// A socket read that tells Asio's reactor when it has emptied the socket (see TimedSocket).
//
// Asio's own read operation reports the socket "exhausted" only at end of stream, so its next
// read is always attempted before waiting. This operation also reports a short read (fewer
// bytes than the buffer holds: the receive queue is empty) as exhausted; the reactor then
// queues the next read until the socket's next edge-triggered readiness event instead of
// trying it first. It is built on Asio's reactor-operation interface (asio::detail), the way
// Asio's own socket operations are; that interface is internal, so the operation is only used
// with the Boost version it was written against (1.81, Debian 12) and any other version falls
// back to the ordinary read.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/memory.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/version.hpp>

namespace gatewayd {

using DrainedReadReactor = boost::asio::detail::reactor;

// The reactor that serves `socket` (looked up once per socket: the lookup takes a lock).
DrainedReadReactor& reactor_of(boost::asio::ip::tcp::socket& socket);

namespace drained_read_detail {

namespace adetail = boost::asio::detail;

template <class Handler, class IoExecutor>
class ReadOp : public adetail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(ReadOp);

  ReadOp(adetail::socket_type fd, boost::asio::mutable_buffer buffer, Handler& handler,
         const IoExecutor& io_ex)
      : adetail::reactor_op(boost::system::error_code(), &ReadOp::perform_read,
                            &ReadOp::complete_read),
        fd_(fd),
        buffer_(buffer),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  static status perform_read(adetail::reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    if (!adetail::socket_ops::non_blocking_recv1(op->fd_, op->buffer_.data(), op->buffer_.size(), 0,
                                                 true, op->ec_, op->bytes_transferred_)) {
      return not_done;  // nothing to read yet: wait for readiness
    }
    // An error, the end of the stream, or a short read: the socket has nothing more now.
    if (op->ec_ || op->bytes_transferred_ < op->buffer_.size()) return done_and_exhausted;
    return done;
  }

  static void complete_read(void* owner, adetail::operation* base, const boost::system::error_code&,
                            std::size_t) {
    auto* op = static_cast<ReadOp*>(base);
    ptr p = {boost::asio::detail::addressof(op->handler_), op, op};
    adetail::handler_work<Handler, IoExecutor> work(std::move(op->work_));
    // The handler is moved out before the operation's memory is released, then invoked.
    adetail::binder2<Handler, boost::system::error_code, std::size_t> bound(op->handler_, op->ec_,
                                                                            op->bytes_transferred_);
    p.h = boost::asio::detail::addressof(bound.handler_);
    p.reset();
    if (owner != nullptr) {
      adetail::fenced_block fence(adetail::fenced_block::half);
      work.complete(bound, bound.handler_);
    }
  }

 private:
  adetail::socket_type fd_;
  boost::asio::mutable_buffer buffer_;
  Handler handler_;
  adetail::handler_work<Handler, IoExecutor> work_;
};

// basic_socket keeps its implementation protected; a pointer to that member, formed through a
// derived class, reads it from any socket without a cast.
struct SocketImplAccess : boost::asio::ip::tcp::socket {
  static constexpr auto member = &SocketImplAccess::impl_;
};

}  // namespace drained_read_detail

// Reads at most buffer.size() bytes from `socket` into `buffer`, then calls
// handler(error_code, bytes). Like socket.async_read_some, except that a short read leaves the
// next read waiting for readiness rather than attempting it first.
#define GATEWAYD_DRAINED_READ (BOOST_VERSION / 100 == 1081)

template <class Handler>
void start_drained_read(boost::asio::ip::tcp::socket& socket, DrainedReadReactor& reactor,
                        boost::asio::mutable_buffer buffer, Handler&& handler) {
#if !GATEWAYD_DRAINED_READ
  socket.async_read_some(boost::asio::mutable_buffers_1(buffer), std::forward<Handler>(handler));
  (void)reactor;
#else
  namespace adetail = boost::asio::detail;
  using Op = drained_read_detail::ReadOp<std::decay_t<Handler>, boost::asio::any_io_executor>;
  auto& object = socket.*drained_read_detail::SocketImplAccess::member;
  auto& impl = object.get_implementation();
  if (buffer.size() == 0 || impl.socket_ == adetail::invalid_socket) {
    // Nothing to read into, or a closed socket: complete as Asio's read would.
    const boost::system::error_code ec =
        buffer.size() == 0 ? boost::system::error_code() : boost::asio::error::bad_descriptor;
    auto ex = boost::asio::get_associated_executor(handler, socket.get_executor());
    boost::asio::post(ex, adetail::bind_handler(std::forward<Handler>(handler), ec, 0));
    return;
  }
  typename Op::ptr p = {boost::asio::detail::addressof(handler), Op::ptr::allocate(handler),
                        nullptr};
  p.p = new (p.v) Op(impl.socket_, buffer, handler, object.get_executor());
  if ((impl.state_ & adetail::socket_ops::non_blocking) == 0 &&
      !adetail::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p.p->ec_)) {
    reactor.post_immediate_completion(p.p, false);
  } else {
    reactor.start_op(DrainedReadReactor::read_op, impl.socket_, impl.reactor_data_, p.p, false,
                     true);
  }
  p.v = p.p = nullptr;
#endif
}

}  // namespace gatewayd
