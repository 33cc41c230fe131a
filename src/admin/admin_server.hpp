#pragma once
// The admin listener (ADMIN_HOST:ADMIN_PORT, 127.0.0.1:9901 by default). Runs on its own thread
// so slow admin work (database queries, reloads) never touches the data-plane event loops.
// Every call needs `Authorization: Bearer <ADMIN_TOKEN>`; without a configured token the API
// refuses all calls.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gatewayd {

struct AdminRequest {
  std::string method;  // upper-case
  std::string path;    // without the query
  std::string query;   // raw, without '?'
  std::string body;
  std::vector<std::pair<std::string, std::string>> params;  // {name} captures of the pattern
  std::string client_ip;

  std::optional<std::string> query_param(std::string_view name) const;
  std::string_view param(std::string_view name) const;
};

struct AdminResponse {
  unsigned status = 200;
  std::string body = "{}";  // JSON
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  AdminServer(std::string host, std::uint16_t port, std::string token);
  ~AdminServer();

  // `pattern` is a path with optional {name} segments, e.g. "/admin/routes/{id}".
  void handle(std::string method, std::string pattern, Handler handler);

  void start();  // binds (throws on failure) and starts the thread
  void stop();
  std::uint16_t port() const noexcept { return port_; }

  static AdminResponse error(unsigned status, std::string_view code, std::string_view message,
                             std::string_view details_json = "{}");

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  AdminResponse dispatch(AdminRequest& req, std::string_view authorization) const;

  std::string host_;
  std::uint16_t port_;
  std::string token_;
  std::vector<Route> routes_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
};

}  // namespace gatewayd
