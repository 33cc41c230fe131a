#pragma once
// A small asynchronous HTTP/1.1 client for the control plane (discovery backends, registration).
// Plain HTTP over TCP, one connection per exchange: these calls are rare (long polls, polls every
// few seconds) and a fresh connection makes failover between servers trivial. Every exchange has
// a connect deadline and an overall deadline; response bodies are bounded; chunked transfer
// coding is handled by the parser. HttpStreamReader reads a response body piece by piece for
// endless streams (etcd watch) with an idle deadline per read.
//
// Errors are values: a transport or protocol failure sets `error` and leaves status 0.
// Cancellation: the operations honour terminal cancellation of the awaiting coroutine.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatewayd {

struct HttpEndpoint {
  std::string host;
  std::uint16_t port = 80;

  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// "http://host:port" (path ignored), "host:port" or "host" (default_port). nullopt when
// malformed or when the scheme is not http.
std::optional<HttpEndpoint> parse_http_endpoint(std::string_view text,
                                                std::uint16_t default_port = 80);

struct HttpClientRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target = "/";  // origin-form, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // sent with a non-empty body
};

struct HttpRequestOptions {
  std::chrono::milliseconds connect_timeout{2'000};  // resolve + TCP connect
  std::chrono::milliseconds timeout{5'000};          // write + read after the connect
  std::size_t body_limit = 4 * 1024 * 1024;          // larger responses fail
};

struct HttpClientResponse {
  boost::system::error_code error;  // transport/protocol failure; status is 0 then
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  bool transport_ok() const noexcept { return !error && status != 0; }
  bool ok() const noexcept { return transport_ok() && status >= 200 && status < 300; }
  // First value of a header, case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const noexcept;
  // "connection refused", "timeout", "HTTP 503", ... for logs (never the body).
  std::string describe() const;
};

// One request/response exchange on a fresh connection.
boost::asio::awaitable<HttpClientResponse> http_request(HttpEndpoint endpoint,
                                                        HttpClientRequest request,
                                                        HttpRequestOptions options);

// A response read incrementally. open() connects, sends the request and reads the head;
// read_some() returns the next body bytes as they arrive.
class HttpStreamReader {
 public:
  explicit HttpStreamReader(const boost::asio::any_io_executor& executor);
  HttpStreamReader(const HttpStreamReader&) = delete;
  HttpStreamReader& operator=(const HttpStreamReader&) = delete;

  // Status 0 plus `error` on failure. `options.timeout` bounds writing the request and reading
  // the head.
  boost::asio::awaitable<HttpClientResponse> open(HttpEndpoint endpoint, HttpClientRequest request,
                                                  HttpRequestOptions options);
  // Appends the next body bytes to `out`, waiting at most `idle_timeout`. Returns
  // http::error::end_of_stream once the body is complete, timeout when nothing arrived.
  boost::asio::awaitable<boost::system::error_code> read_some(
      std::string& out, std::chrono::milliseconds idle_timeout);
  void close() noexcept;

 private:
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
};

// Splits a byte stream into lines ('\n', a trailing '\r' dropped). A line longer than the bound
// is an error (the stream is then unusable).
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 1024 * 1024) : max_line_(max_line) {}
  // Appends `data`; false when the pending partial line exceeds the bound.
  bool feed(std::string_view data);
  // The next complete line, or nullopt.
  std::optional<std::string> next();

 private:
  std::size_t max_line_;
  std::string pending_;
  std::size_t consumed_ = 0;
};

// Percent-encodes everything except unreserved characters (RFC 3986), for query values and
// form bodies.
std::string url_encode(std::string_view s);

// "k1=v1&k2=v2" with url_encode()d keys and values; pairs with an empty value are kept.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace gatewayd
