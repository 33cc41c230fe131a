#include "server/https_redirect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace gatewayd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

}  // namespace

std::optional<std::string> https_location(std::string_view host_header, std::string_view target,
                                          std::uint16_t https_port) {
  std::string_view host = host_header;
  if (host.empty() || host.size() > 255) return std::nullopt;
  if (host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    for (char c : host.substr(1, close - 1)) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                      c == ':' || c == '.';
      if (!ok) return std::nullopt;
    }
    const auto rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    host = host.substr(0, close + 1);
  } else {
    if (const auto colon = host.find(':'); colon != std::string_view::npos) {
      for (char c : host.substr(colon + 1)) {
        if (c < '0' || c > '9') return std::nullopt;
      }
      host = host.substr(0, colon);
    }
    if (host.empty()) return std::nullopt;
    for (char c : host) {
      if (!host_char(c)) return std::nullopt;
    }
  }
  std::string location = "https://";
  location += host;
  if (https_port != 443) location += ":" + std::to_string(https_port);
  if (!target.empty() && target.front() == '/') {
    location += target;
  } else {
    location += '/';
  }
  return location;
}

asio::awaitable<void> serve_https_redirect(asio::ip::tcp::socket socket, std::uint16_t https_port,
                                           const Settings& settings,
                                           std::unordered_set<asio::ip::tcp::socket*>& open) {
  beast::tcp_stream stream(std::move(socket));
  struct Registered {
    std::unordered_set<asio::ip::tcp::socket*>& set;
    asio::ip::tcp::socket* socket;
    ~Registered() { set.erase(socket); }
  } registered{open, &stream.socket()};
  open.insert(&stream.socket());
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(settings.max_header_bytes));
  stream.expires_after(settings.header_timeout);
  auto [rec, n] =
      co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  http::response<http::string_body> res;
  res.version(11);
  res.keep_alive(false);
  if (rec) {
    if (n == 0 && buffer.size() == 0) co_return;  // nothing was sent
    res.result(http::status::bad_request);
  } else {
    const auto& req = parser.get();
    const auto location = https_location(req[http::field::host], req.target(), https_port);
    if (location) {
      res.result(http::status::permanent_redirect);
      res.set(http::field::location, *location);
    } else {
      res.result(http::status::bad_request);
    }
  }
  res.set(http::field::cache_control, "no-store");
  res.prepare_payload();
  stream.expires_after(settings.body_timeout);
  co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

}  // namespace gatewayd
