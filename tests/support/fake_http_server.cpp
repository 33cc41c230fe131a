#include "support/fake_http_server.hpp"
// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <stdexcept>

#include "support/free_port.hpp"

namespace gatewayd::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string FakeRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

std::string FakeRequest::param(const std::string& name) const {
  if (const auto it = query.find(name); it != query.end()) return it->second;
  if (const auto it = form.find(name); it != form.end()) return it->second;
  return {};
}

bool FakeRequest::has_param(const std::string& name) const {
  return query.count(name) > 0 || form.count(name) > 0;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query_string(std::string_view s) {
  std::map<std::string, std::string> out;
  while (!s.empty()) {
    const auto amp = s.find('&');
    const auto pair = s.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        out[percent_decode(pair)] = "";
      } else {
        out[percent_decode(pair.substr(0, eq))] = percent_decode(pair.substr(eq + 1));
      }
    }
    if (amp == std::string_view::npos) break;
    s.remove_prefix(amp + 1);
  }
  return out;
}

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
  port_ = free_port();
  listen();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

FakeHttpServer::~FakeHttpServer() {
  stop();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeHttpServer::listen() {
  auto acceptor = std::make_shared<tcp::acceptor>(io_);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port_);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  acceptor->bind(endpoint);
  acceptor->listen();
  acceptor_ = acceptor;
  {
    std::lock_guard lock(mutex_);
    listening_ = true;
  }
  asio::co_spawn(io_, accept_loop(acceptor), asio::detached);
}

void FakeHttpServer::start() {
  std::promise<void> done;
  asio::post(io_, [this, &done] {
    try {
      if (!acceptor_) listen();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  done.get_future().get();
}

void FakeHttpServer::stop() {
  if (!thread_.joinable()) return;
  run_on_server([this] {
    if (on_stop_) on_stop_();
    if (acceptor_) {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      acceptor_.reset();
    }
    for (const auto& socket : sockets_) {
      boost::system::error_code ignored;
      socket->shutdown(tcp::socket::shutdown_both, ignored);
      socket->close(ignored);
    }
    sockets_.clear();
    std::lock_guard lock(mutex_);
    listening_ = false;
  });
}

bool FakeHttpServer::listening() const {
  std::lock_guard lock(mutex_);
  return listening_;
}

void FakeHttpServer::run_on_server(std::function<void()> fn) {
  if (thread_.get_id() == std::this_thread::get_id()) {
    fn();
    return;
  }
  std::promise<void> done;
  asio::post(io_, [&fn, &done] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

std::uint64_t FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

asio::awaitable<void> FakeHttpServer::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(io_);
    auto [ec] = co_await acceptor->async_accept(*socket, kAwait);
    if (ec) {
      if (!acceptor->is_open()) co_return;
      continue;
    }
    if (acceptor_ != acceptor) co_return;  // stopped meanwhile
    sockets_.insert(socket);
    asio::co_spawn(io_, session(socket), asio::detached);
  }
}

asio::awaitable<void> FakeHttpServer::session(std::shared_ptr<tcp::socket> socket) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(*socket, buffer, req, kAwait);
    if (rec) break;

    FakeRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    const auto q = request.target.find('?');
    request.path = percent_decode(std::string_view(request.target).substr(0, q));
    if (q != std::string::npos) {
      request.query = parse_query_string(std::string_view(request.target).substr(q + 1));
    }
    for (const auto& field : req) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = req.body();
    if (request.header("Content-Type").starts_with("application/x-www-form-urlencoded")) {
      request.form = parse_query_string(request.body);
    }
    {
      std::lock_guard lock(mutex_);
      ++requests_;
    }

    FakeResponse response;
    try {
      response = co_await handler_(std::move(request));
    } catch (const std::exception& e) {
      response = FakeResponse{500, std::string("fake server error: ") + e.what(), "text/plain", {}};
    }
    if (!socket->is_open()) break;  // stopped while the handler held the request

    http::response<http::string_body> res{static_cast<http::status>(response.status),
                                          req.version()};
    res.set(http::field::server, "gatewayd-test-fake");
    if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res.insert(name, value);
    res.body() = std::move(response.body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(*socket, res, kAwait);
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_both, ignored);
  socket->close(ignored);
  sockets_.erase(socket);
}

}  // namespace gatewayd::test
