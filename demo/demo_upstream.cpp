// gatewayd-demo-upstream: the small HTTP service behind the quick start and the integration
// tests. Endpoints:
//   GET  /hello                 greeting JSON
//   ANY  /echo...               method, target, headers and body size (body echoed when small)
//   GET  /bytes/<n>[?chunked=1] n bytes streamed (Content-Length or chunked)
//   GET  /status/<code>         answers that status
//   GET  /delay/<ms>            answers after ms milliseconds
//   GET  /cookies               two Set-Cookie fields and a Date
//   GET  /ws                    WebSocket echo
//   GET  /health                {"status":"ok"}
//   anything else               {"service":<--name>,"path":<target>}
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string g_name = "demo";
std::uint64_t g_connections = 0;  // single-threaded: numbers connections for keep-alive tests
std::uint64_t g_closed_after_answer = 0;  // connections /close ended (see serve)

std::uint64_t parse_number(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

asio::awaitable<void> websocket_echo(beast::tcp_stream stream,
                                     http::request<http::string_body> req) {
  websocket::stream<beast::tcp_stream> ws(std::move(stream));
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  auto [ec] = co_await ws.async_accept(req, use_tuple);
  if (ec) co_return;
  beast::flat_buffer buffer;
  for (;;) {
    auto [rec, n] = co_await ws.async_read(buffer, use_tuple);
    if (rec) co_return;
    ws.text(ws.got_text());
    auto [wec, w] = co_await ws.async_write(buffer.data(), use_tuple);
    if (wec) co_return;
    buffer.consume(buffer.size());
  }
}

asio::awaitable<bool> stream_bytes(beast::tcp_stream& stream,
                                   const http::request<http::string_body>& req, std::uint64_t total,
                                   bool chunked) {
  http::response<http::buffer_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/octet-stream");
  if (chunked) {
    res.chunked(true);
  } else {
    res.content_length(total);
  }
  res.keep_alive(req.keep_alive());
  http::response_serializer<http::buffer_body> sr{res};
  auto [hec, hn] = co_await http::async_write_header(stream, sr, use_tuple);
  if (hec) co_return false;
  if (req.method() == http::verb::head) co_return req.keep_alive();
  static std::string block(64 * 1024, 'x');
  std::uint64_t sent = 0;
  while (sent < total) {
    const auto n = std::min<std::uint64_t>(block.size(), total - sent);
    res.body().data = block.data();
    res.body().size = n;
    res.body().more = true;
    auto [ec, w] = co_await http::async_write(stream, sr, use_tuple);
    if (ec && ec != http::error::need_buffer) co_return false;
    sent += n;
  }
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  auto [ec, w] = co_await http::async_write(stream, sr, use_tuple);
  co_return !ec && req.keep_alive();
}

asio::awaitable<void> serve(tcp::socket socket) {
  const std::uint64_t connection_id = ++g_connections;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec) break;
    auto req = parser.release();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));

    if (path == "/ws" && websocket::is_upgrade(req)) {
      co_await websocket_echo(std::move(stream), std::move(req));
      co_return;
    }
    if (path.rfind("/bytes/", 0) == 0) {
      const bool ok = co_await stream_bytes(stream, req, parse_number(path.substr(7)),
                                            target.find("chunked=1") != std::string::npos);
      if (!ok) break;
      continue;
    }
    if (path.rfind("/close-delimited/", 0) == 0) {
      // No Content-Length, no chunking: the body ends where the connection does. The head,
      // the body and the FIN leave together.
      std::string raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
      raw.append(parse_number(path.substr(17)), 'c');
      co_await asio::async_write(stream, asio::buffer(raw), use_tuple);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
    if (path.rfind("/delay/", 0) == 0) {
      asio::steady_timer t(co_await asio::this_coro::executor,
                           std::chrono::milliseconds(parse_number(path.substr(7))));
      co_await t.async_wait(use_tuple);
    }

    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    nlohmann::json body;
    if (path == "/hello") {
      body = {{"message", "hello from the demo upstream"}, {"service", g_name}};
    } else if (path.rfind("/echo", 0) == 0) {
      nlohmann::json headers = nlohmann::json::array();
      for (const auto& f : req) {
        headers.push_back({std::string(f.name_string()), std::string(f.value())});
      }
      body = {{"service", g_name},
              {"method", std::string(req.method_string())},
              {"target", target},
              {"headers", headers},
              {"body_size", req.body().size()},
              {"connection", connection_id}};
      if (req.body().size() <= 64 * 1024) body["body"] = req.body();
    } else if (path.rfind("/status/", 0) == 0) {
      res.result(static_cast<unsigned>(parse_number(path.substr(8))));
      body = {{"status", res.result_int()}, {"service", g_name}};
    } else if (path == "/cookies") {
      res.insert(http::field::set_cookie, "a=1; Path=/");
      res.insert(http::field::set_cookie, "b=2; Path=/");
      res.set(http::field::date, "Tue, 24 Nov 2026 00:00:00 GMT");
      res.set(http::field::server, "demo-upstream");
      body = {{"cookies", 2}};
    } else if (path == "/close") {
      // Answers as if the connection stayed open, then closes it: what a server does when its
      // keep-alive timeout fires, as seen by a client that pooled the connection.
      body = {{"closing", connection_id}};
    } else if (path == "/stats") {
      body = {{"connections", g_connections}, {"closed_after_answer", g_closed_after_answer}};
    } else if (path == "/health") {
      body = {{"status", "ok"}, {"service", g_name}};
    } else {
      body = {{"service", g_name}, {"path", target}};
    }
    const unsigned status = res.result_int();
    if (status != 204 && status != 304) res.body() = body.dump();
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, w] = co_await http::async_write(stream, res, use_tuple);
    if (wec || !req.keep_alive()) break;
    if (path == "/close") {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
      ++g_closed_after_answer;  // counted once the peer has been sent the FIN
      co_return;
    }
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned short port = 8002;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port")
      port = static_cast<unsigned short>(std::stoi(argv[i + 1]));
    else if (flag == "--host")
      host = argv[i + 1];
    else if (flag == "--name")
      g_name = argv[i + 1];
    else {
      std::cerr << "usage: gatewayd-demo-upstream [--host H] [--port P] [--name N]\n";
      return 2;
    }
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  const tcp::endpoint ep(asio::ip::make_address(host), port);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen();
  std::cout << "demo upstream '" << g_name << "' listening on " << host << ":"
            << acceptor.local_endpoint().port() << std::endl;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  asio::co_spawn(io, listen(acceptor), asio::detached);
  io.run();
  return 0;
}
