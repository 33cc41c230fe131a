#pragma once
// One event-loop thread: its own io_context, SO_REUSEPORT acceptor, upstream connection pool and
// filter chain. A connection stays on its worker for life, so nothing here needs a lock.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/cidr.hpp"
#include "gatewayd/config.hpp"
#include "gatewayd/filter.hpp"
#include "server/block_pool.hpp"
#include "server/connection_pool.hpp"
#include "server/request_metrics.hpp"
#include "server/server_state.hpp"
#include "server/upstream_tls.hpp"

namespace gatewayd {

class Session;
namespace upstream {
class ServiceTable;
}

// What a worker serves from: the routes and settings of one config plus the endpoint state of
// its services. Published together so that a request never sees routes of one config with the
// services of another.
struct Snapshot {
  std::shared_ptr<const Config> config;
  std::shared_ptr<const upstream::ServiceTable> services;
  std::shared_ptr<const UpstreamTls> upstream_tls;  // client contexts for https:// upstreams
};

class Worker {
 public:
  Worker(unsigned index, ServerState& state, Snapshot snapshot);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds the public listener (SO_REUSEPORT). Throws on failure (start-up error).
  void listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Binds the plain-HTTP listener that redirects to https:// on `https_port` (SO_REUSEPORT).
  void listen_redirect(const boost::asio::ip::tcp::endpoint& endpoint, std::uint16_t https_port);
  // Before start(): the public listener speaks TLS with this context.
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> context) {
    tls_ = std::move(context);
  }
  // Called from any thread (SIGHUP): new handshakes use `context`; established connections
  // keep the context they were accepted with.
  void publish_tls_context(std::shared_ptr<boost::asio::ssl::context> context);
  const std::shared_ptr<boost::asio::ssl::context>& tls_context() const noexcept { return tls_; }
  void add_filter(std::unique_ptr<Filter> filter) { filters_.push_back(std::move(filter)); }
  void start();  // starts the thread
  void join();

  // Called from any thread: the worker swaps its snapshot on its own loop.
  void publish(Snapshot snapshot);
  // Called from any thread: stop accepting, close idle connections, finish in-flight ones.
  void begin_drain();
  // Called from any thread: close everything now.
  void force_stop();

  unsigned index() const noexcept { return index_; }
  boost::asio::io_context& io() noexcept { return io_; }
  ServerState& state() noexcept { return state_; }
  const Settings& settings() const noexcept { return state_.settings; }
  const std::shared_ptr<const Config>& config() const noexcept { return config_; }
  const std::shared_ptr<const upstream::ServiceTable>& services() const noexcept {
    return services_;
  }
  const std::shared_ptr<const UpstreamTls>& upstream_tls() const noexcept { return upstream_tls_; }
  void add_local_endpoint(std::shared_ptr<LocalEndpoint> endpoint) {
    local_endpoints_.push_back(std::move(endpoint));
  }
  LocalEndpoint* local_endpoint_for(std::string_view path) const noexcept {
    for (const auto& e : local_endpoints_) {
      if (e->owns(path)) return e.get();
    }
    return nullptr;
  }
  ConnectionPool& pool() noexcept { return pool_; }
  BlockPool& blocks() noexcept { return blocks_; }
  RequestMetrics& metrics() noexcept { return metrics_; }
  const std::vector<std::unique_ptr<Filter>>& filters() const noexcept { return filters_; }
  std::uint16_t bound_port() const noexcept { return bound_port_; }
  std::uint16_t redirect_port() const noexcept { return redirect_port_; }
  const std::vector<Cidr>& trusted_proxies() const noexcept { return trusted_proxies_; }

  void register_session(Session* s) { sessions_.insert(s); }
  void unregister_session(Session* s) { sessions_.erase(s); }
  std::size_t session_count() const noexcept { return sessions_.size(); }

 private:
  // Enough for 64 exchanges relaying bodies at once (2 MiB); more are taken from the heap.
  static constexpr std::size_t kIdleBlocks = 64;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> redirect_loop();
  void schedule_sweep();

  unsigned index_;
  ServerState& state_;
  // Declared before io_: buffers of sessions destroyed with the io_context give blocks back.
  BlockPool blocks_{kIdleBlocks};
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t bound_port_ = 0;
  std::optional<boost::asio::ip::tcp::acceptor> redirect_acceptor_;
  std::uint16_t redirect_port_ = 0;
  std::uint16_t https_port_ = 0;
  std::unordered_set<boost::asio::ip::tcp::socket*> redirect_connections_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<const Config> config_;
  std::shared_ptr<const upstream::ServiceTable> services_;
  std::shared_ptr<const UpstreamTls> upstream_tls_;
  ConnectionPool pool_;
  RequestMetrics metrics_;
  std::vector<std::unique_ptr<Filter>> filters_;
  std::vector<std::shared_ptr<LocalEndpoint>> local_endpoints_;
  std::unordered_set<Session*> sessions_;
  boost::asio::steady_timer sweep_timer_;
  std::vector<Cidr> trusted_proxies_;
  std::thread thread_;
};

}  // namespace gatewayd
