#include "clients/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/version.hpp>
#include <cctype>
#include <charconv>
#include <limits>

namespace gatewayd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Resolves (bounded by the stream's connect deadline: getaddrinfo has no timeout of its own)
// and connects `stream`.
asio::awaitable<boost::system::error_code> connect(beast::tcp_stream& stream,
                                                   const HttpEndpoint& endpoint,
                                                   std::chrono::milliseconds timeout) {
  const auto executor = stream.get_executor();
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(endpoint.host, ec);
  if (!ec) {
    stream.expires_after(timeout);
    const tcp::endpoint target(address, endpoint.port);
    auto [cec] = co_await stream.async_connect(target, kAwait);
    co_return cec;
  }
  tcp::resolver resolver(executor);
  asio::steady_timer guard(executor);
  guard.expires_after(timeout);
  bool timed_out = false;
  guard.async_wait([&resolver, &timed_out](boost::system::error_code wec) {
    if (wec) return;
    timed_out = true;
    resolver.cancel();
  });
  // Arguments of a co_await are named values: GCC 12 mishandles temporaries there.
  const std::string service = std::to_string(endpoint.port);
  auto [rec, results] = co_await resolver.async_resolve(endpoint.host, service, kAwait);
  guard.cancel();
  if (timed_out) co_return beast::error::timeout;
  if (rec) co_return rec;
  stream.expires_after(timeout);
  auto [cec, ep] = co_await stream.async_connect(results, kAwait);
  (void)ep;
  co_return cec;
}

http::request<http::string_body> build_request(const HttpEndpoint& endpoint,
                                               HttpClientRequest& spec, bool keep_alive) {
  http::request<http::string_body> req{spec.method, spec.target, 11};
  req.set(http::field::host, endpoint.to_string());
  req.set(http::field::user_agent, "gatewayd");
  for (auto& [name, value] : spec.headers) req.insert(name, value);
  if (!spec.body.empty() || spec.method == http::verb::post || spec.method == http::verb::put) {
    if (!spec.content_type.empty()) req.set(http::field::content_type, spec.content_type);
    req.body() = std::move(spec.body);
    req.prepare_payload();
  }
  req.keep_alive(keep_alive);
  return req;
}

void copy_head(const http::response_parser<http::string_body>& parser, HttpClientResponse& out) {
  const auto& msg = parser.get();
  out.status = msg.result_int();
  out.headers.clear();
  for (const auto& field : msg) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
}

}  // namespace

std::optional<HttpEndpoint> parse_http_endpoint(std::string_view text, std::uint16_t default_port) {
  if (const auto pos = text.find("://"); pos != std::string_view::npos) {
    if (!iequals(text.substr(0, pos), "http")) return std::nullopt;
    text.remove_prefix(pos + 3);
  }
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    text = text.substr(0, slash);
  }
  HttpEndpoint out;
  out.port = default_port;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  if (!port.empty() || text.back() == ':') {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  out.host = std::string(host);
  return out;
}

std::string_view HttpClientResponse::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

std::string HttpClientResponse::describe() const {
  if (error) return error.message();
  return "HTTP " + std::to_string(status);
}

asio::awaitable<HttpClientResponse> http_request(HttpEndpoint endpoint, HttpClientRequest request,
                                                 HttpRequestOptions options) {
  HttpClientResponse out;
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  if (auto ec = co_await connect(stream, endpoint, options.connect_timeout)) {
    out.error = ec;
    co_return out;
  }
  auto req = build_request(endpoint, request, false);
  stream.expires_after(options.timeout);
  if (auto [ec, n] = co_await http::async_write(stream, req, kAwait); ec) {
    out.error = ec;
    co_return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(options.body_limit);
  if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAwait); ec) {
    out.error = ec;
    co_return out;
  }
  copy_head(parser, out);
  out.body = std::move(parser.get().body());
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}

HttpStreamReader::HttpStreamReader(const asio::any_io_executor& executor) : stream_(executor) {}

asio::awaitable<HttpClientResponse> HttpStreamReader::open(HttpEndpoint endpoint,
                                                           HttpClientRequest request,
                                                           HttpRequestOptions options) {
  HttpClientResponse out;
  close();
  buffer_.clear();
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (auto ec = co_await connect(stream_, endpoint, options.connect_timeout)) {
    out.error = ec;
    co_return out;
  }
  auto req = build_request(endpoint, request, false);
  stream_.expires_after(options.timeout);
  if (auto [ec, n] = co_await http::async_write(stream_, req, kAwait); ec) {
    out.error = ec;
    co_return out;
  }
  if (auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser_, kAwait); ec) {
    out.error = ec;
    co_return out;
  }
  stream_.expires_never();
  copy_head(*parser_, out);
  co_return out;
}

asio::awaitable<boost::system::error_code> HttpStreamReader::read_some(
    std::string& out, std::chrono::milliseconds idle_timeout) {
  if (!parser_) co_return asio::error::not_connected;
  if (parser_->is_done()) co_return http::error::end_of_stream;
  stream_.expires_after(idle_timeout);
  auto [ec, n] = co_await http::async_read_some(stream_, buffer_, *parser_, kAwait);
  (void)n;
  auto& body = parser_->get().body();
  out.append(body);
  body.clear();
  if (ec) co_return ec;
  co_return boost::system::error_code{};
}

void HttpStreamReader::close() noexcept {
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

bool LineSplitter::feed(std::string_view data) {
  if (consumed_ > 0 && consumed_ >= pending_.size() / 2) {
    pending_.erase(0, consumed_);
    consumed_ = 0;
  }
  pending_.append(data);
  const auto last = pending_.rfind('\n');
  const std::size_t partial = last == std::string::npos || last < consumed_
                                  ? pending_.size() - consumed_
                                  : pending_.size() - last - 1;
  return partial <= max_line_;
}

std::optional<std::string> LineSplitter::next() {
  const auto newline = pending_.find('\n', consumed_);
  if (newline == std::string::npos) return std::nullopt;
  std::string line = pending_.substr(consumed_, newline - consumed_);
  consumed_ = newline + 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(key);
    out.push_back('=');
    out += url_encode(value);
  }
  return out;
}

}  // namespace gatewayd
