#pragma once
// Asynchronous Redis client for one worker: lives on that worker's io_context and is only used
// from it (no locks). Standalone mode talks to one endpoint; cluster mode keeps a slot map from
// CLUSTER SLOTS, one pipelined connection per node, follows MOVED (updating the map and
// refreshing it in the background) and ASK (ASKING + command on the importing node).
//
// Every call returns a RedisResult: the reply, or an error code and a message. Nothing on this
// path throws. Each command has a deadline (the default is options.command_timeout). Commands
// are sent when the returned awaitable is first awaited; commands awaited by different
// coroutines of the worker share the connection and are pipelined.
//
//   auto client = RedisClient::create(io.get_executor(), options);
//   client->start();
//   RedisResult r = co_await client->execute(RedisCommand({"GET", key}));
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clients/redis_command.hpp"
#include "clients/redis_connection.hpp"
#include "clients/redis_options.hpp"
#include "clients/redis_reply.hpp"
#include "clients/redis_script.hpp"

namespace gatewayd {

namespace metrics {
class Counter;
class Histogram;
}  // namespace metrics

class RedisClient : public std::enable_shared_from_this<RedisClient> {
 public:
  using Clock = std::chrono::steady_clock;

  static std::shared_ptr<RedisClient> create(boost::asio::any_io_executor ex, RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects (standalone) or loads the slot map (cluster) in the background. Idempotent; the
  // first command starts it too.
  void start();
  // Closes every connection; in-flight and later commands fail with kShutdown.
  void stop();

  boost::asio::awaitable<RedisResult> execute(RedisCommand command);
  boost::asio::awaitable<RedisResult> execute(RedisCommand command, Clock::time_point deadline);

  // EVALSHA with the locally computed SHA1; on NOSCRIPT, SCRIPT LOAD on the node that owns the
  // first key and one retry. In cluster mode all keys must hash to one slot (use a hash tag).
  // `script` must outlive the returned awaitable (scripts are long-lived objects); keys and args
  // are encoded before this returns.
  boost::asio::awaitable<RedisResult> eval(const RedisScript& script,
                                           std::span<const std::string_view> keys,
                                           std::span<const std::string_view> args,
                                           Clock::time_point deadline);

  bool cluster() const noexcept { return options_.cluster; }
  // Standalone: the connection is up. Cluster: a slot map is loaded and a node is up.
  bool ready() const noexcept;
  const RedisOptions& options() const noexcept { return options_; }
  const boost::asio::any_io_executor& executor() const noexcept { return ex_; }

  // For tests and diagnostics.
  std::uint64_t redirects() const noexcept { return redirects_; }
  std::uint64_t slot_map_refreshes() const noexcept { return refreshes_; }
  std::size_t node_count() const noexcept { return nodes_.size(); }

 private:
  struct Node {
    RedisEndpoint endpoint;
    std::shared_ptr<RedisConnection> connection;
  };
  static constexpr std::uint16_t kNoOwner = 0xFFFF;

  RedisClient(boost::asio::any_io_executor ex, RedisOptions options);

  static boost::asio::awaitable<RedisResult> run(std::shared_ptr<RedisClient> self,
                                                 RedisCommand command, Clock::time_point deadline);
  static boost::asio::awaitable<RedisResult> run_cluster(std::shared_ptr<RedisClient> self,
                                                         RedisCommand command,
                                                         Clock::time_point deadline);
  static boost::asio::awaitable<RedisResult> run_eval(std::shared_ptr<RedisClient> self,
                                                      RedisCommand evalsha,
                                                      const RedisScript* script,
                                                      Clock::time_point deadline);
  static boost::asio::awaitable<void> refresh_slots(std::shared_ptr<RedisClient> self);

  boost::asio::awaitable<RedisResult> dispatch(RedisCommand command, Clock::time_point deadline);
  std::uint16_t node_index(const RedisEndpoint& endpoint);  // creates; kNoOwner when full
  std::shared_ptr<RedisConnection> node(const RedisEndpoint& endpoint);
  std::shared_ptr<RedisConnection> node_for_slot(std::uint16_t slot);
  std::shared_ptr<RedisConnection> any_node();
  void schedule_refresh();
  bool apply_slot_map(const RedisReply& reply, const RedisEndpoint& asked);
  void record(const RedisResult& result, Clock::time_point started);

  boost::asio::any_io_executor ex_;
  RedisOptions options_;
  bool started_ = false;
  bool stopped_ = false;

  std::shared_ptr<RedisConnection> single_;  // standalone mode

  std::vector<Node> nodes_;                // cluster mode, bounded by max_cluster_nodes
  std::vector<std::uint16_t> slot_owner_;  // slot -> index into nodes_
  bool slot_map_loaded_ = false;
  bool refreshing_ = false;
  boost::asio::steady_timer refresh_timer_;
  Clock::time_point last_refresh_{};
  std::uint64_t redirects_ = 0;
  std::uint64_t refreshes_ = 0;
  std::string asking_;  // encoded ASKING

  metrics::Histogram* latency_ = nullptr;
  metrics::Counter* errors_timeout_ = nullptr;
  metrics::Counter* errors_connection_ = nullptr;
  metrics::Counter* errors_server_ = nullptr;
  metrics::Counter* errors_other_ = nullptr;
};

}  // namespace gatewayd
