#include "admin/admin_server.hpp"

#include <openssl/crypto.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "gatewayd/error.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/router.hpp"

namespace gatewayd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxAdminBody = 1024 * 1024;
constexpr auto kAdminTimeout = std::chrono::seconds(30);

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    const auto next = path.find('/', pos);
    const auto end = next == std::string_view::npos ? path.size() : next;
    out.emplace_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query-string decoding ('+' is a space); malformed escapes are kept literally.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

}  // namespace

std::optional<std::string> AdminRequest::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    const auto eq = part.find('=');
    if (percent_decode(part.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string_view AdminRequest::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

AdminServer::AdminServer(std::string host, std::uint16_t port, std::string token)
    : host_(std::move(host)), port_(port), token_(std::move(token)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::handle(std::string method, std::string pattern, Handler handler) {
  routes_.push_back({std::move(method), split_path(pattern), std::move(handler)});
}

AdminResponse AdminServer::error(unsigned status, std::string_view code, std::string_view message,
                                 std::string_view details_json) {
  return {status, error_body(code, message, "", details_json)};
}

void AdminServer::start() {
  const auto address = asio::ip::make_address(host_);
  acceptor_.emplace(io_, asio::ip::tcp::endpoint(address, port_));
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        break;
      } catch (const std::exception& ex) {
        logging::error().error("admin loop exception: {}", ex.what());
      }
    }
  });
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

asio::awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> AdminServer::serve(asio::ip::tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  error_code ec;
  const auto peer = stream.socket().remote_endpoint(ec);
  const std::string client_ip = ec ? std::string() : peer.address().to_string();
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxAdminBody);
    stream.expires_after(kAdminTimeout);
    auto [rec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    auto& msg = parser.get();
    AdminRequest req;
    req.method = std::string(msg.method_string());
    const std::string_view target = msg.target();
    const auto q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.body = std::move(msg.body());
    req.client_ip = client_ip;
    AdminResponse out = dispatch(req, msg[http::field::authorization]);

    http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    if (out.status == 401) res.set(http::field::www_authenticate, "Bearer");
    res.body() = std::move(out.body);
    res.keep_alive(msg.keep_alive());
    res.prepare_payload();
    auto [wec, w] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

AdminResponse AdminServer::dispatch(AdminRequest& req, std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  const bool authorised =
      !token_.empty() && authorization.size() == kBearer.size() + token_.size() &&
      authorization.substr(0, kBearer.size()) == kBearer &&
      CRYPTO_memcmp(authorization.data() + kBearer.size(), token_.data(), token_.size()) == 0;
  if (!authorised) {
    logging::audit().warn("admin call refused: {} {} from {}", req.method, req.path,
                          req.client_ip);
    return error(401, "UNAUTHORIZED",
                 token_.empty() ? "admin API disabled: ADMIN_TOKEN is not set"
                                : "missing or invalid admin token");
  }
  const auto segments = split_path(req.path);
  bool path_matched = false;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      const auto& pat = route.segments[i];
      if (pat.size() > 2 && pat.front() == '{' && pat.back() == '}') {
        if (segments[i].empty()) ok = false;
        params.emplace_back(pat.substr(1, pat.size() - 2), percent_decode(segments[i]));
      } else if (pat != segments[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (route.method != req.method) continue;
    req.params = std::move(params);
    try {
      return route.handler(req);
    } catch (const std::exception& ex) {
      logging::error().error("admin handler {} {} failed: {}", req.method, req.path, ex.what());
      return error(500, "INTERNAL", "internal error");
    }
  }
  if (path_matched) return error(405, "METHOD_NOT_ALLOWED", "method not allowed");
  return error(404, "NOT_FOUND", "no admin endpoint at this path");
}

}  // namespace gatewayd
