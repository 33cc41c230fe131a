#pragma once
// One downstream HTTP/1.1 connection: reads request heads under strict limits, answers the
// reserved endpoints, runs the router and the filter chain, and hands the exchange to the proxy.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>
#include <optional>
#include <string>

#include "gatewayd/filter.hpp"
#include "server/any_stream.hpp"
#include "server/block_pool.hpp"

namespace gatewayd {

class Worker;

using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

// What the proxy needs from the downstream side of an exchange.
struct Downstream {
  Downstream(AnyStream& s, IoBuffer& b, RequestParser& p) : stream(s), buffer(b), parser(p) {}

  AnyStream& stream;  // plain TCP, or TLS when the listener terminates TLS
  IoBuffer& buffer;   // bytes read past the request head live here
  RequestParser& parser;
  bool keep_alive = true;         // the client allows keep-alive and we intend to keep it
  bool response_started = false;  // bytes of a response were written: no local reply now
  bool body_consumed = false;     // the request body was read completely
  unsigned status = 0;            // status sent downstream
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::string upstream;    // endpoint id that served the request
  std::string error_code;  // stable code when the gateway produced the reply
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // With `tls`, the connection speaks TLS with that context for its whole life, even when a
  // certificate reload gives the worker a new one meanwhile.
  Session(Worker& worker, boost::asio::ip::tcp::socket socket,
          std::shared_ptr<boost::asio::ssl::context> tls);
  ~Session();

  static void start(Worker& worker, boost::asio::ip::tcp::socket socket);

  // Closes the connection when it sits between requests; otherwise it closes after the current
  // exchange (graceful drain).
  void close_if_idle();
  void force_close();

 private:
  enum class HeadStatus { kOk, kClosed, kTimeout, kTooLarge, kUriTooLong, kBadRequest };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<void> close_tls();
  boost::asio::awaitable<void> linger();
  boost::asio::awaitable<HeadStatus> read_head(bool first);
  // Handles one request; returns whether the connection may serve another.
  boost::asio::awaitable<bool> handle_request();
  boost::asio::awaitable<void> reply_error(RequestContext& ctx, Downstream& down,
                                           const LocalReply& reply);
  boost::asio::awaitable<void> reply_builtin(RequestContext& ctx, Downstream& down,
                                             std::string_view path);
  boost::asio::awaitable<bool> send_continue(Downstream& down);
  boost::asio::awaitable<void> write_local(RequestContext& ctx, Downstream& down,
                                           LocalResponse answer);
  boost::asio::awaitable<void> serve_local(LocalEndpoint& endpoint, RequestContext& ctx,
                                           Downstream& down);
  void complete(RequestContext& ctx, Downstream& down);
  void start_trace(RequestContext& ctx, const boost::beast::http::request_header<>& req);
  void export_span(const RequestContext& ctx, const Downstream& down, double seconds);

  Worker& worker_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // declared first: outlives stream_
  AnyStream stream_;
  IoBuffer buffer_;
  std::optional<RequestParser> parser_;
  std::string client_ip_;
  bool peer_trusted_ = false;
  bool idle_ = true;
  bool closing_ = false;
  std::size_t head_size_ = 0;
};

}  // namespace gatewayd
