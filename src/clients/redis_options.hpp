#pragma once
// Connection settings of the Redis client (REDIS_* variables). Built at start-up.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatewayd {

struct Settings;

struct RedisEndpoint {
  std::string host;
  std::uint16_t port = 6379;

  std::string str() const;  // "host:port" ("[v6]:port" for IPv6 literals)
  // "host:port", "[::1]:port" or "::1:port" (the last colon separates the port, as Redis
  // writes addresses in MOVED replies). nullopt when malformed.
  static std::optional<RedisEndpoint> parse(std::string_view text);
  friend bool operator==(const RedisEndpoint&, const RedisEndpoint&) = default;
};

struct RedisOptions {
  RedisEndpoint endpoint{"localhost", 6379};  // standalone mode
  std::string password;                       // AUTH on connect when set; never logged
  std::string username;                       // ACL user (AUTH user password) when set
  unsigned db = 0;                            // SELECT on connect when non-zero (standalone)

  bool cluster = false;
  std::vector<RedisEndpoint> cluster_nodes;  // seeds; the slot map names the rest

  std::chrono::milliseconds connect_timeout{2000};  // TCP connect + AUTH/SELECT
  std::chrono::milliseconds command_timeout{1000};  // default per-command deadline
  std::chrono::milliseconds reconnect_min{100};     // backoff after a failure, doubling
  std::chrono::milliseconds reconnect_max{5000};
  std::size_t max_in_flight = 4096;  // per connection; more fail fast with kQueueFull
  std::size_t max_cluster_nodes = 64;
  unsigned max_redirects = 5;

  // Label of this client's metrics ("ratelimit", "tokens").
  std::string name = "default";
};

// From REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_USERNAME, REDIS_DB, REDIS_CLUSTER_ENABLED,
// REDIS_CLUSTER_NODES, REDIS_CLUSTER_PASSWORD, REDIS_CONNECT_TIMEOUT_MS, REDIS_TIMEOUT_MS.
// Throws SettingsError naming the variable when a value is malformed. Reads Settings::raw only,
// so it needs nothing from the settings loader.
RedisOptions redis_options_from_settings(const Settings& settings);

}  // namespace gatewayd
