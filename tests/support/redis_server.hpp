#pragma once
// Real redis-server processes for tests: a standalone server, or a Redis Cluster of N masters
// (redis-server --cluster-enabled yes, joined with redis-cli --cluster create). Each server runs
// on free loopback ports in its own temp dir without persistence, and is killed with the object.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {

// True when redis-server and redis-cli are installed (tests skip otherwise).
bool redis_installed();

struct RedisServerOptions {
  std::string password;  // requirepass when set
  bool cluster = false;  // --cluster-enabled yes (used by RedisCluster)
  std::vector<std::string> extra_args;
};

class RedisServer {
 public:
  // Starts the server and waits until it answers PING. Throws std::runtime_error on failure.
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  std::uint16_t port() const noexcept { return port_; }
  std::string address() const { return host() + ":" + std::to_string(port_); }

  // Kills the server (SIGKILL: what a crash looks like to clients) and waits for it to go.
  void stop();
  // Starts it again on the same port and directory; waits until it answers PING.
  void start();
  // SIGSTOP / SIGCONT: a server that accepts connections but does not answer.
  void pause();
  void resume();
  bool running();

  // redis-cli against this server; returns its output without the trailing newline. Throws
  // std::runtime_error when redis-cli fails to run.
  std::string cli(const std::vector<std::string>& args) const;

 private:
  void launch();

  RedisServerOptions options_;
  TempDir dir_;
  std::uint16_t port_ = 0;
  std::uint16_t bus_port_ = 0;
  std::optional<Process> process_;
};

class RedisCluster {
 public:
  // Starts `masters` cluster-enabled servers, creates the cluster (no replicas) and waits for
  // cluster_state:ok on every node. Throws std::runtime_error on failure.
  explicit RedisCluster(int masters = 3);
  ~RedisCluster();

  std::size_t size() const noexcept { return nodes_.size(); }
  RedisServer& node(std::size_t i) { return *nodes_[i]; }
  // "127.0.0.1:p1,127.0.0.1:p2,..." (REDIS_CLUSTER_NODES format).
  std::string nodes_csv() const;
  // The node id and index of the master owning `slot`.
  std::string node_id(std::size_t i) const;
  std::size_t owner_of(std::uint16_t slot) const;

  // Moves an empty-or-not slot from its owner to node `to`, migrating its keys, and announces
  // the new owner to every master. With `finish` false the slot is left half-way (keys moved,
  // MIGRATING/IMPORTING set) so the old owner answers ASK.
  void move_slot(std::uint16_t slot, std::size_t to, bool finish = true);

 private:
  void wait_until_ok(std::chrono::milliseconds timeout);

  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace gatewayd::test
