#pragma once
// A real mariadbd for tests: a private data directory initialised with mariadb-install-db, a
// free loopback port, a unix socket, and a password-authenticated account the code under test
// uses (the server runs with real grant tables). stop()/start() restart the same server on the
// same data directory and port, for fault tests; kill() simulates a crash. The destructor kills
// the server and removes every file.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {

struct MariaDbServerOptions {
  std::string user = "gatewayd";
  std::string password = "gatewayd-test-secret";
  // Created (empty) at first start when non-empty; the account has all privileges anyway.
  std::string database;
  // Extra mariadbd arguments ("--max-connections=20", ...).
  std::vector<std::string> extra_args;
  std::chrono::milliseconds start_timeout{60'000};
  // Keep the data directory on tmpfs (/dev/shm) when there is one: DDL and commits skip the
  // disk's fsync latency, which makes schema set-up several times faster. Durability across a
  // server crash is unaffected (the files survive the process, only not a reboot).
  bool prefer_tmpfs = true;
};

class MariaDbServer {
 public:
  // Initialises the data directory and starts the server. Throws std::runtime_error with the
  // tail of the server's error log when it does not come up before start_timeout.
  explicit MariaDbServer(MariaDbServerOptions options = {});
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  // Starts again on the same data directory and port (no-op when running).
  void start();
  // Clean shutdown (SIGTERM, bounded wait, then SIGKILL).
  void stop();
  // Crash: SIGKILL, no clean shutdown.
  void kill();
  // A hung server: SIGSTOP keeps connections open but nothing answers; resume() continues it.
  void pause();
  void resume();
  bool running();

  const std::string& host() const noexcept { return host_; }  // "127.0.0.1"
  std::uint16_t port() const noexcept { return port_; }
  const std::string& user() const noexcept { return options_.user; }
  const std::string& password() const noexcept { return options_.password; }
  const std::string& database() const noexcept { return options_.database; }
  std::filesystem::path socket_path() const { return dir_.path() / "mysqld.sock"; }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  std::filesystem::path error_log() const { return dir_.path() / "error.log"; }

  // Runs statements with the mariadb command-line client as root over the unix socket and
  // returns its output (tab-separated, no column names). Throws std::runtime_error on failure.
  std::string sql(std::string_view statements, std::string_view database = {}) const;
  // Runs the client with `args` appended (as the test account over TCP unless `as_root`),
  // feeding `stdin_file` when given. Returns the exit status; output goes to `output`.
  ExitStatus client(const std::vector<std::string>& args, std::string* output,
                    const std::filesystem::path& stdin_file = {}, bool as_root = false) const;

  // Last lines of the server error log, for failure messages.
  std::string error_log_tail(std::size_t max_bytes = 4096) const;

 private:
  void initialise_data_dir();
  void wait_until_ready();
  void create_account();

  MariaDbServerOptions options_;
  TempDir dir_;  // data, socket, logs
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  Process process_;
  bool account_created_ = false;
};

}  // namespace gatewayd::test
