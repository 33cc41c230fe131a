#pragma once
// A small real HTTP/1.1 server for fakes of HTTP APIs (Consul, Nacos): Beast on a free loopback
// port, its own thread, keep-alive, and asynchronous handlers so a fake can hold a request (a
// Consul blocking query) without blocking others. stop() closes the listener and every open
// connection, as a crashed server would; start() listens again on the same port.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace gatewayd::test {

struct FakeRequest {
  std::string method;                        // upper case
  std::string target;                        // as received
  std::string path;                          // decoded, without the query
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps the last value
  std::map<std::string, std::string> form;   // application/x-www-form-urlencoded body, decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string header(std::string_view name) const;  // case-insensitive, "" when absent
  // query, then form: Nacos accepts parameters in either.
  std::string param(const std::string& name) const;
  bool has_param(const std::string& name) const;
};

struct FakeResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Percent-decoding ('+' as space) and a query/form string parser.
std::string percent_decode(std::string_view s);
std::map<std::string, std::string> parse_query_string(std::string_view s);

class FakeHttpServer {
 public:
  using Handler = std::function<boost::asio::awaitable<FakeResponse>(FakeRequest)>;

  // Binds 127.0.0.1 on a free port and serves until destroyed. Throws on bind failure.
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  boost::asio::io_context& io() noexcept { return io_; }

  // Closes the listener and every connection (clients see resets / EOF, new connects are
  // refused). `on_stop` (if set) runs on the server thread first, so fakes can release held
  // requests.
  void stop();
  // Listens on the same port again.
  void start();
  bool listening() const;

  void set_on_stop(std::function<void()> fn) { on_stop_ = std::move(fn); }

  // Runs `fn` on the server thread and waits for it.
  void run_on_server(std::function<void()> fn);

  // Requests handled since start (all paths).
  std::uint64_t requests() const;

 private:
  void listen();
  boost::asio::awaitable<void> accept_loop(
      std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor);
  boost::asio::awaitable<void> session(std::shared_ptr<boost::asio::ip::tcp::socket> socket);

  Handler handler_;
  boost::asio::io_context io_;
  std::uint16_t port_ = 0;
  std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor_;         // server thread only
  std::set<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;  // server thread only
  std::function<void()> on_stop_;
  mutable std::mutex mutex_;
  std::uint64_t requests_ = 0;
  bool listening_ = false;
  std::thread thread_;
};

}  // namespace gatewayd::test
