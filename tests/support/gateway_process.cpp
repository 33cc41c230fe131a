#include "support/gateway_process.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace gatewayd::test {

const char* gatewayd_binary() {
#ifdef GATEWAYD_BINARY
  return GATEWAYD_BINARY;
#else
  throw std::runtime_error("gatewayd binary path not compiled in");
#endif
}

ExitStatus run_init_db(const std::map<std::string, std::string>& env, std::string* output) {
  TempDir dir("gatewayd-initdb");
  ProcessOptions o;
  o.argv = {gatewayd_binary(), "--init-db"};
  o.working_dir = dir.path();
  o.stdout_path = dir / "output.log";
  o.stderr_path = o.stdout_path;
  for (const auto& [k, v] : env) o.env.push_back(k + "=" + v);
  Process p = Process::spawn(o);
  auto status = p.wait_for(std::chrono::seconds(120));
  if (!status) status = p.kill();
  if (output != nullptr) *output = dir.read_file("output.log");
  return *status;
}

const char* demo_upstream_binary() {
#ifdef GATEWAYD_DEMO_UPSTREAM
  return GATEWAYD_DEMO_UPSTREAM;
#else
  throw std::runtime_error("demo upstream binary path not compiled in");
#endif
}

DemoUpstream::DemoUpstream(std::string name, std::uint16_t port)
    : name_(std::move(name)), port_(port == 0 ? free_port() : port) {
  start();
}

DemoUpstream::~DemoUpstream() {
  stop();
}

void DemoUpstream::start() {
  ProcessOptions o;
  o.argv = {demo_upstream_binary(), "--port", std::to_string(port_), "--name", name_};
  o.stdout_path = "/dev/null";
  process_ = Process::spawn(o);
  if (!wait_for_port(port_, std::chrono::seconds(10))) {
    throw std::runtime_error("demo upstream did not start on port " + std::to_string(port_));
  }
}

void DemoUpstream::stop() {
  if (process_.pid() > 0 && process_.running()) process_.kill();
}

GatewayProcess::GatewayProcess(GatewayOptions options)
    : options_(std::move(options)),
      dir_("gatewayd-it"),
      port_(free_port()),
      admin_port_(free_port()) {
  std::filesystem::create_directories(dir_ / "config");
  write_routes(options_.routes_yaml);
  write_services(options_.services_yaml);
  start();
}

GatewayProcess::~GatewayProcess() {
  if (process_.pid() > 0 && process_.running()) process_.kill();
}

void GatewayProcess::write_atomically(const std::string& name, const std::string& content) {
  const auto final_path = dir_ / ("config/" + name);
  const auto tmp = dir_ / ("config/." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
  }
  std::filesystem::rename(tmp, final_path);
}

void GatewayProcess::write_routes(const std::string& yaml) {
  write_atomically("routes.yaml", yaml);
}
void GatewayProcess::write_services(const std::string& yaml) {
  write_atomically("services.yaml", yaml);
}

void GatewayProcess::start() {
  ProcessOptions o;
  o.argv = {gatewayd_binary(), "--config-dir", (dir_ / "config").string()};
  o.working_dir = dir_.path();
  o.stdout_path = dir_ / "stdout.log";
  o.stderr_path = dir_ / "stderr.log";
  std::map<std::string, std::string> env{
      {"HOST", "127.0.0.1"},
      {"PORT", std::to_string(port_)},
      {"ADMIN_HOST", "127.0.0.1"},
      {"ADMIN_PORT", std::to_string(admin_port_)},
      {"ADMIN_TOKEN", kAdminToken},
      {"WORKERS", std::to_string(options_.workers)},
      {"LOG_DIRECTORY", (dir_ / "logs").string()},
      {"DATA_DIRECTORY", (dir_ / "data").string()},
      {"LOG_LEVEL", "info"},
      {"MYSQL_ENABLED", "false"},
      // Tests of other stages send many requests from one address: limiting is opted into.
      {"RATE_LIMIT_ENABLED", "false"},
      {"SHUTDOWN_GRACE_SECONDS", "10"},
  };
  for (const auto& [k, v] : options_.env) env[k] = v;
  for (const auto& [k, v] : env) o.env.push_back(k + "=" + v);
  process_ = Process::spawn(o);
  if (!options_.wait_ready) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) {
      throw std::runtime_error("gatewayd exited during start-up: " + output());
    }
    if (port_accepts(port_) && http_get(port_, "/health").status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("gatewayd did not become healthy: " + output());
}

ExitStatus GatewayProcess::stop(std::chrono::milliseconds grace) {
  return process_.terminate(grace);
}

std::string GatewayProcess::output() const {
  return dir_.read_file("stdout.log") + dir_.read_file("stderr.log");
}

}  // namespace gatewayd::test
