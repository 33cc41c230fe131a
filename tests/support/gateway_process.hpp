#pragma once
// Launchers for the real binaries in integration tests: gatewayd itself (with a private config
// directory, log and data directories and free ports) and the demo upstream.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {

const char* gatewayd_binary();
const char* demo_upstream_binary();

// Runs `gatewayd --init-db` in an empty directory (no stray .env) with `env` (the MYSQL_*
// settings); its output goes to `output` when given. A run past two minutes is killed.
ExitStatus run_init_db(const std::map<std::string, std::string>& env,
                       std::string* output = nullptr);

class DemoUpstream {
 public:
  explicit DemoUpstream(std::string name = "demo", std::uint16_t port = 0);
  ~DemoUpstream();
  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void stop();
  void start();  // again, on the same port

 private:
  std::string name_;
  std::uint16_t port_;
  Process process_;
};

struct GatewayOptions {
  std::string routes_yaml;
  std::string services_yaml;
  std::map<std::string, std::string> env;  // extra or overriding variables
  unsigned workers = 1;
  bool wait_ready = true;
};

class GatewayProcess {
 public:
  static constexpr const char* kAdminToken = "test-admin-token";

  explicit GatewayProcess(GatewayOptions options);
  ~GatewayProcess();

  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t admin_port() const noexcept { return admin_port_; }
  const TempDir& dir() const noexcept { return dir_; }
  Process& process() noexcept { return process_; }

  // Replaces routes.yaml / services.yaml atomically (write + rename, as editors and
  // configuration tools do).
  void write_routes(const std::string& yaml);
  void write_services(const std::string& yaml);

  void start();  // (re)starts the binary and waits until /health answers
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
  std::string output() const;  // stdout + stderr of the process so far

 private:
  void write_atomically(const std::string& name, const std::string& content);

  GatewayOptions options_;
  TempDir dir_;
  std::uint16_t port_;
  std::uint16_t admin_port_;
  Process process_;
};

}  // namespace gatewayd::test
