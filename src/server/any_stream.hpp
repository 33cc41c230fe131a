#pragma once
// A byte stream that is either plain TCP or TLS over TCP, used on both sides of the proxy
// (downstream sessions and upstream connections).
//
// Why a two-alternative variant rather than templates or a virtual interface:
// - templating Session and ProxyExchange on the stream type would compile the whole request
//   path four times (plain/TLS downstream x plain/TLS upstream) and move it into headers;
// - a virtual stream would cost an indirect call per operation and type-erased completion
//   handlers, which allocate.
// Here each read_some/write_some call picks its alternative with one predictable branch and
// forwards the caller's handler unchanged: no allocation, no virtual call, and Beast's composed
// operations (http::async_read, http::async_write) see an ordinary AsyncStream. Both
// alternatives sit on a TimedSocket (deadlines, reads that know when the socket is empty);
// the TLS one allocates its OpenSSL state once per connection, never per request.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <utility>
#include <variant>

#include "server/timed_socket.hpp"

namespace gatewayd {

class AnyStream {
 public:
  using Plain = TimedSocket;
  using Tls = boost::beast::ssl_stream<TimedSocket>;
  using executor_type = boost::asio::any_io_executor;

  explicit AnyStream(boost::asio::ip::tcp::socket socket)
      : stream_(std::in_place_type<Plain>, std::move(socket)) {}
  AnyStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls)
      : stream_(std::in_place_type<Tls>, std::move(socket), tls) {}
  explicit AnyStream(const executor_type& ex) : stream_(std::in_place_type<Plain>, ex) {}
  AnyStream(const executor_type& ex, boost::asio::ssl::context& tls)
      : stream_(std::in_place_type<Tls>, ex, tls) {}
  AnyStream(const AnyStream&) = delete;
  AnyStream& operator=(const AnyStream&) = delete;

  bool is_tls() const noexcept { return stream_.index() == 1; }
  Tls* tls() noexcept { return std::get_if<Tls>(&stream_); }

  // The TCP layer: timeouts (they bound the TLS records' reads and writes too) and the socket.
  Plain& tcp() noexcept {
    if (auto* p = std::get_if<Plain>(&stream_)) return *p;
    return std::get<Tls>(stream_).next_layer();
  }
  boost::asio::ip::tcp::socket& socket() noexcept { return tcp().socket(); }
  template <class Duration>
  void expires_after(Duration d) {
    tcp().expires_after(d);
  }
  template <class TimePoint>
  void expires_at(TimePoint t) {
    tcp().expires_at(t);
  }
  void expires_never() { tcp().expires_never(); }
  // See TimedSocket::set_eager_reads (for TLS it applies to the records read under it).
  void set_eager_reads(bool eager) noexcept { tcp().set_eager_reads(eager); }

  executor_type get_executor() noexcept { return tcp().get_executor(); }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          if (auto* p = std::get_if<Plain>(&stream_)) {
            p->async_read_some(b, std::move(handler));
          } else {
            std::get<Tls>(stream_).async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          if (auto* p = std::get_if<Plain>(&stream_)) {
            p->async_write_some(b, std::move(handler));
          } else {
            std::get<Tls>(stream_).async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  std::variant<Plain, Tls> stream_;
};

}  // namespace gatewayd
