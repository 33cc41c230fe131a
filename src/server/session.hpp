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
  Downstream(AnyStream& s, IoBuffer& b, RequestParser& p, std::string& sc)
      : stream(s), buffer(b), parser(p), scratch(sc) {}

  AnyStream& stream;  // plain TCP, or TLS when the listener terminates TLS
  IoBuffer& buffer;   // bytes read past the request head live here
  RequestParser& parser;
  // The connection's formatting buffer (heads, small bodies): its capacity outlives requests.
  std::string& scratch;
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
  // What admit() decided for a request whose head was read.
  struct Admission {
    enum Kind { kReply, kBuiltin, kPreflight, kLocal, kProxy } kind;
    LocalEndpoint* local = nullptr;  // kLocal
  };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<void> close_tls();
  boost::asio::awaitable<void> linger();
  boost::asio::awaitable<HeadStatus> read_head(bool first);
  // Handles one request; returns whether the connection may serve another.
  boost::asio::awaitable<bool> handle_request();
  // Everything decided before the filters, without waiting: limits, target, built-in and
  // local endpoints, CORS preflights, the route. Fills `reply` (kReply) or `preflight`.
  Admission admit(RequestContext& ctx, Downstream& down, std::optional<LocalReply>& reply,
                  std::optional<LocalResponse>& preflight);
  std::optional<LocalResponse> answer_preflight_for(RequestContext& ctx);
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
  // Per-request state kept by the connection (not in coroutine frames, which Asio only
  // recycles up to 1 KiB): reset after each request, with the buffers it grew.
  RequestContext ctx_;
  std::string scratch_;  // see Downstream::scratch
  std::string method_;   // an extension method, upper-cased (ctx_.method views it)
  std::string client_ip_;
  bool peer_trusted_ = false;
  bool idle_ = true;
  bool closing_ = false;
  std::size_t head_size_ = 0;
};

}  // namespace gatewayd
