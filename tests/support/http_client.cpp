#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <strings.h>

namespace gatewayd::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) {
      out.push_back(v);
    }
  }
  return out;
}

HttpConnection::HttpConnection(std::uint16_t port, const std::string& host) : stream_(io_) {
  beast::error_code ec;
  stream_.expires_after(std::chrono::seconds(5));
  stream_.connect(tcp::endpoint(asio::ip::make_address(host), port), ec);
  connected_ = !ec;
}

bool HttpConnection::is_open() const { return connected_ && stream_.socket().is_open(); }

HttpResponse HttpConnection::request(const HttpRequestSpec& spec) {
  HttpResponse out;
  if (!connected_) {
    out.error = "not connected";
    return out;
  }
  http::request<http::string_body> req;
  req.method_string(spec.method);
  req.target(spec.target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : spec.headers) req.insert(k, v);
  req.body() = spec.body;
  if (spec.chunked) {
    req.chunked(true);
  } else if (!spec.body.empty() || spec.method == "POST" || spec.method == "PUT") {
    req.prepare_payload();
  }
  beast::error_code ec;
  stream_.expires_after(spec.timeout);
  http::write(stream_, req, ec);
  if (ec) {
    out.error = ec.message();
    connected_ = false;
    return out;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  if (spec.method == "HEAD") parser.skip(true);
  http::read(stream_, buffer_, parser, ec);
  if (ec) {
    out.error = ec.message();
    connected_ = false;
    return out;
  }
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = std::move(res.body());
  out.keep_alive = res.keep_alive();
  for (const auto& f : res) out.headers.emplace_back(f.name_string(), f.value());
  if (!out.keep_alive) connected_ = false;
  return out;
}

HttpResponse http_request(std::uint16_t port, const HttpRequestSpec& spec) {
  HttpConnection c(port);
  return c.request(spec);
}

HttpResponse http_get(std::uint16_t port, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequestSpec spec;
  spec.target = target;
  spec.headers = std::move(headers);
  return http_request(port, spec);
}

std::string raw_exchange(std::uint16_t port, std::string_view bytes,
                         std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  stream.expires_after(timeout);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {};
  stream.expires_after(timeout);
  asio::write(stream, asio::buffer(bytes.data(), bytes.size()), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    stream.expires_after(timeout);
    const auto n = stream.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

}  // namespace gatewayd::test
