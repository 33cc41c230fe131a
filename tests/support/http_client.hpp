#pragma once
// A small blocking HTTP/1.1 client for integration tests: one request per call, or several on
// one kept-alive connection through HttpConnection.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gatewayd::test {

struct HttpResponse {
  unsigned status = 0;  // 0 when the request failed at the transport level
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error;  // transport error message
  bool keep_alive = false;

  std::string header(std::string_view name) const;  // first value, case-insensitive
  std::vector<std::string> headers_named(std::string_view name) const;
};

struct HttpRequestSpec {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;
  std::chrono::milliseconds timeout{10'000};
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

inline HttpRequestSpec request_spec(std::string method, std::string target,
                                    HttpHeaders headers = {}, std::string body = "") {
  HttpRequestSpec spec;
  spec.method = std::move(method);
  spec.target = std::move(target);
  spec.headers = std::move(headers);
  spec.body = std::move(body);
  return spec;
}

class HttpConnection {
 public:
  explicit HttpConnection(std::uint16_t port, const std::string& host = "127.0.0.1");
  HttpResponse request(const HttpRequestSpec& spec);
  bool is_open() const;

 private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

HttpResponse http_request(std::uint16_t port, const HttpRequestSpec& spec);
HttpResponse http_get(std::uint16_t port, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers = {});

// Sends raw bytes and returns everything the server answers until it closes or `timeout`.
std::string raw_exchange(std::uint16_t port, std::string_view bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace gatewayd::test
