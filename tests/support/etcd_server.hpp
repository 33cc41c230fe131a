#pragma once
// A real etcd (Debian's etcd-server) for tests: one member on free loopback client and peer
// ports with a private data directory, killed with the object. Keys are written through the
// v3 JSON gateway (etcd 3.4+: /v3/kv/put, /v3/kv/deleterange, /v3/kv/compaction).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {

// True when the etcd binary is installed (tests skip otherwise).
bool etcd_installed();

class EtcdServer {
 public:
  // Starts etcd and waits until it serves (a range call answers). Throws std::runtime_error.
  EtcdServer();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  std::uint16_t port() const noexcept { return client_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

  // SIGKILL (a crash as clients see it) / start again on the same ports and data.
  void stop();
  void start();
  bool running();

  // Returns the store revision after the write. Throw std::runtime_error on failure.
  std::int64_t put(const std::string& key, const std::string& value);
  std::int64_t del(const std::string& key);
  // Compacts the history up to `revision` (physical, so watchers from older revisions fail).
  void compact(std::int64_t revision);
  std::int64_t revision();

 private:
  void launch();
  std::string call(const std::string& path, const std::string& body);

  TempDir dir_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  std::optional<Process> process_;
};

}  // namespace gatewayd::test
