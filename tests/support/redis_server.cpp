#include "support/redis_server.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/free_port.hpp"

namespace gatewayd::test {

namespace {

using namespace std::chrono_literals;

bool in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string trim_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Polls `condition` until it holds or `timeout` passes.
template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

}  // namespace

bool redis_installed() {
  return in_path("redis-server") && in_path("redis-cli");
}

RedisServer::RedisServer(RedisServerOptions options)
    : options_(std::move(options)), dir_("gatewayd-redis") {
  port_ = free_port();
  if (options_.cluster) bus_port_ = free_port();
  launch();
}

RedisServer::~RedisServer() {
  if (process_) process_->kill();
}

void RedisServer::launch() {
  ProcessOptions p;
  p.argv = {"redis-server",
            "--port",
            std::to_string(port_),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir_.path().string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            (dir_ / "redis.log").string()};
  if (!options_.password.empty()) {
    p.argv.insert(p.argv.end(), {"--requirepass", options_.password});
  }
  if (options_.cluster) {
    p.argv.insert(p.argv.end(), {"--cluster-enabled", "yes", "--cluster-config-file",
                                 (dir_ / "nodes.conf").string(), "--cluster-port",
                                 std::to_string(bus_port_), "--cluster-node-timeout", "5000"});
  }
  p.argv.insert(p.argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  p.stdout_path = dir_ / "stdout.log";
  p.stderr_path = p.stdout_path;
  process_.emplace(Process::spawn(p));
  const bool up = eventually(
      [&] {
        if (!process_->running()) return true;
        try {
          return cli({"PING"}).find("PONG") != std::string::npos;
        } catch (const std::exception&) {
          return false;
        }
      },
      15s);
  if (!up || !process_->running()) {
    const std::string log = dir_.read_file("redis.log") + dir_.read_file("stdout.log");
    process_->kill();
    process_.reset();
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) + ": " +
                             log);
  }
}

void RedisServer::stop() {
  if (!process_) return;
  process_->kill();
  process_.reset();
}

void RedisServer::start() {
  if (process_ && process_->running()) return;
  launch();
}

void RedisServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}

void RedisServer::resume() {
  if (process_) process_->signal(SIGCONT);
}

bool RedisServer::running() {
  return process_ && process_->running();
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)};
  std::vector<std::string> env;
  if (!options_.password.empty()) {
    // REDISCLI_AUTH keeps the password off the command line.
    env.push_back("REDISCLI_AUTH=" + options_.password);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  const ExitStatus status = run_command(argv, 10s, &out, env);
  if (!status.success()) {
    throw std::runtime_error("redis-cli failed (" + status.describe() + "): " + out);
  }
  return trim_newline(out);
}

// ---- cluster ----

RedisCluster::RedisCluster(int masters) {
  for (int i = 0; i < masters; ++i) {
    RedisServerOptions o;
    o.cluster = true;
    nodes_.push_back(std::make_unique<RedisServer>(o));
  }
  std::vector<std::string> argv{"redis-cli", "--cluster", "create"};
  for (const auto& n : nodes_) argv.push_back(n->address());
  argv.insert(argv.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  std::string out;
  const ExitStatus status = run_command(argv, 60s, &out);
  if (!status.success()) {
    throw std::runtime_error("redis-cli --cluster create failed (" + status.describe() +
                             "): " + out);
  }
  wait_until_ok(30s);
}

RedisCluster::~RedisCluster() = default;

std::string RedisCluster::nodes_csv() const {
  std::string out;
  for (const auto& n : nodes_) {
    if (!out.empty()) out += ',';
    out += n->address();
  }
  return out;
}

std::string RedisCluster::node_id(std::size_t i) const {
  return nodes_[i]->cli({"CLUSTER", "MYID"});
}

std::size_t RedisCluster::owner_of(std::uint16_t slot) const {
  // CLUSTER NODES lines: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <state> <slots>
  const std::string text = nodes_[0]->cli({"CLUSTER", "NODES"});
  std::stringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::stringstream fields(line);
    std::vector<std::string> f;
    std::string field;
    while (fields >> field) f.push_back(field);
    if (f.size() < 9) continue;
    for (std::size_t k = 8; k < f.size(); ++k) {
      if (f[k].front() == '[') continue;  // migration markers
      const auto dash = f[k].find('-');
      const int lo = std::stoi(f[k].substr(0, dash));
      const int hi = dash == std::string::npos ? lo : std::stoi(f[k].substr(dash + 1));
      if (slot < lo || slot > hi) continue;
      const std::string addr = f[1].substr(0, f[1].find('@'));
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i]->address() == addr) return i;
      }
    }
  }
  throw std::runtime_error("no owner found for slot " + std::to_string(slot));
}

void RedisCluster::move_slot(std::uint16_t slot, std::size_t to, bool finish) {
  const std::size_t from = owner_of(slot);
  if (from == to) return;
  const std::string s = std::to_string(slot);
  const std::string from_id = node_id(from);
  const std::string to_id = node_id(to);
  nodes_[to]->cli({"CLUSTER", "SETSLOT", s, "IMPORTING", from_id});
  nodes_[from]->cli({"CLUSTER", "SETSLOT", s, "MIGRATING", to_id});
  for (;;) {
    const std::string keys = nodes_[from]->cli({"CLUSTER", "GETKEYSINSLOT", s, "100"});
    if (keys.empty()) break;
    std::vector<std::string> argv{
        "MIGRATE", "127.0.0.1", std::to_string(nodes_[to]->port()), "", "0", "5000", "KEYS"};
    std::stringstream ks(keys);
    std::string key;
    while (std::getline(ks, key)) {
      if (!key.empty()) argv.push_back(key);
    }
    nodes_[from]->cli(argv);
  }
  if (!finish) return;
  for (auto& n : nodes_) n->cli({"CLUSTER", "SETSLOT", s, "NODE", to_id});
  if (!eventually([&] { return owner_of(slot) == to; }, 10s)) {
    throw std::runtime_error("slot " + s + " did not move");
  }
}

void RedisCluster::wait_until_ok(std::chrono::milliseconds timeout) {
  const bool ok = eventually(
      [&] {
        for (auto& n : nodes_) {
          try {
            if (n->cli({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
              return false;
            }
          } catch (const std::exception&) {
            return false;
          }
        }
        return true;
      },
      timeout);
  if (!ok) throw std::runtime_error("redis cluster did not reach cluster_state:ok");
}

}  // namespace gatewayd::test
