#include "support/mariadb_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "support/free_port.hpp"

namespace gatewayd::test {
namespace {

std::filesystem::path find_program(const std::string& name) {
  std::string path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  if (const char* p = std::getenv("PATH"); p != nullptr && *p != '\0') {
    path_var = std::string(p) + ":/usr/sbin:/usr/local/sbin:/sbin";
  }
  std::size_t start = 0;
  while (start <= path_var.size()) {
    std::size_t end = path_var.find(':', start);
    if (end == std::string::npos) {
      end = path_var.size();
    }
    std::filesystem::path candidate =
        std::filesystem::path(path_var.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  throw std::runtime_error(name + " not found in PATH (install mariadb-server)");
}

// Options shared by the bootstrap and the server: a small InnoDB keeps start-up and the copied
// data directory fast and small.
std::vector<std::string> engine_args() {
  return {"--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=16M",
          "--innodb-log-file-size=8M"};
}

// mariadb-install-db takes a second or two; a pristine data directory is kept under the temp
// folder (keyed by the server binary) and copied for every further server.
std::filesystem::path template_dir(const std::filesystem::path& mariadbd) {
  std::error_code ec;
  auto stamp = std::filesystem::last_write_time(mariadbd, ec).time_since_epoch().count();
  auto size = std::filesystem::file_size(mariadbd, ec);
  std::size_t key = std::hash<std::string>{}(mariadbd.string() + ":" + std::to_string(stamp) + ":" +
                                             std::to_string(size));
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path root = (base != nullptr && *base != '\0') ? base : "/tmp";
  return root /
         ("gatewayd-mariadb-template-" + std::to_string(::getuid()) + "-" + std::to_string(key));
}

bool is_root() {
  return ::geteuid() == 0;
}

TempDir make_server_dir(bool prefer_tmpfs) {
  const std::filesystem::path shm = "/dev/shm";
  std::error_code ec;
  if (prefer_tmpfs && std::filesystem::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0) {
    return TempDir("gatewayd-mariadb", shm);
  }
  return TempDir("gatewayd-mariadb");
}

}  // namespace

MariaDbServer::MariaDbServer(MariaDbServerOptions options)
    : options_(std::move(options)), dir_(make_server_dir(options_.prefer_tmpfs)) {
  port_ = free_port();
  initialise_data_dir();
  start();
}

MariaDbServer::~MariaDbServer() {
  if (process_.pid() > 0) {
    process_.kill();
  }
}

void MariaDbServer::initialise_data_dir() {
  const std::filesystem::path mariadbd = find_program("mariadbd");
  const std::filesystem::path cached = template_dir(mariadbd);
  std::error_code ec;
  if (std::filesystem::exists(cached / "mysql", ec)) {
    std::filesystem::copy(cached, data_dir(), std::filesystem::copy_options::recursive, ec);
    if (!ec) {
      return;
    }
    std::filesystem::remove_all(data_dir(), ec);
  }
  std::vector<std::string> argv = {find_program("mariadb-install-db").string(), "--no-defaults",
                                   "--datadir=" + data_dir().string(),
                                   "--auth-root-authentication-method=normal", "--skip-test-db"};
  if (is_root()) {
    argv.push_back("--user=root");
  }
  for (auto& a : engine_args()) {
    argv.push_back(a);
  }
  std::string output;
  ExitStatus status = run_command(argv, std::chrono::seconds(120), &output);
  if (!status.success()) {
    throw std::runtime_error("mariadb-install-db failed (" + status.describe() + "): " + output);
  }
  // Publish the template atomically; a concurrent test process may have won the race.
  std::filesystem::path staging = cached.string() + ".tmp-" + std::to_string(::getpid());
  std::filesystem::copy(data_dir(), staging, std::filesystem::copy_options::recursive, ec);
  if (!ec) {
    std::filesystem::rename(staging, cached, ec);
  }
  if (ec) {
    std::filesystem::remove_all(staging, ec);
  }
}

void MariaDbServer::start() {
  if (process_.pid() > 0 && process_.running()) {
    return;
  }
  ProcessOptions p;
  p.argv = {find_program("mariadbd").string(),
            "--no-defaults",
            "--datadir=" + data_dir().string(),
            "--socket=" + socket_path().string(),
            "--port=" + std::to_string(port_),
            "--bind-address=" + host_,
            "--pid-file=" + (dir_.path() / "mysqld.pid").string(),
            "--log-error=" + error_log().string(),
            "--performance-schema=OFF",
            "--innodb-flush-log-at-trx-commit=2",
            "--skip-innodb-doublewrite",
            "--max-connections=200"};
  if (is_root()) {
    p.argv.push_back("--user=root");
  }
  for (auto& a : engine_args()) {
    p.argv.push_back(a);
  }
  for (auto& a : options_.extra_args) {
    p.argv.push_back(a);
  }
  p.stdout_path = dir_.path() / "stdout.log";
  p.stderr_path = p.stdout_path;
  process_ = Process::spawn(p);
  wait_until_ready();
  if (!account_created_) {
    create_account();
    account_created_ = true;
  }
}

void MariaDbServer::wait_until_ready() {
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (true) {
    if (!process_.running()) {
      throw std::runtime_error("mariadbd exited (" + process_.status()->describe() +
                               "): " + error_log_tail());
    }
    // The port opens once the server accepts connections; the socket file appears at the same
    // moment, and the client then confirms the server answers queries.
    if (port_accepts(port_, host_)) {
      std::string out;
      ExitStatus s = client({"-e", "SELECT 1"}, &out, {}, true);
      if (s.success()) {
        return;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.kill();
      throw std::runtime_error("mariadbd did not become ready: " + error_log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void MariaDbServer::create_account() {
  std::string stmts = "CREATE USER IF NOT EXISTS '" + options_.user + "'@'%' IDENTIFIED BY '" +
                      options_.password + "';\nGRANT ALL PRIVILEGES ON *.* TO '" + options_.user +
                      "'@'%';\n";
  if (!options_.database.empty()) {
    stmts += "CREATE DATABASE IF NOT EXISTS `" + options_.database +
             "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n";
  }
  stmts += "FLUSH PRIVILEGES;\n";
  sql(stmts);
}

void MariaDbServer::stop() {
  if (process_.pid() > 0 && process_.running()) {
    process_.signal(SIGCONT);  // a paused server cannot act on SIGTERM
    process_.terminate(std::chrono::seconds(30));
  }
}

void MariaDbServer::kill() {
  if (process_.pid() > 0 && process_.running()) {
    process_.kill();
  }
}

namespace {

// True once every thread of `pid` is in the stopped state ('T' in /proc/<pid>/task/*/stat).
bool all_threads_stopped(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos || close + 2 >= stat.size()) return false;
    if (stat[close + 2] != 'T') return false;
    any = true;
  }
  return any && !ec;
}

}  // namespace

void MariaDbServer::pause() {
  process_.signal(SIGSTOP);
  // The stop reaches each thread when it next runs: wait for all of them, so a query sent
  // right after pause() can no longer be answered.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!all_threads_stopped(process_.pid()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void MariaDbServer::resume() {
  process_.signal(SIGCONT);
}

bool MariaDbServer::running() {
  return process_.pid() > 0 && process_.running();
}

ExitStatus MariaDbServer::client(const std::vector<std::string>& args, std::string* output,
                                 const std::filesystem::path& stdin_file, bool as_root) const {
  std::vector<std::string> argv = {find_program("mariadb").string(), "--no-defaults", "--batch",
                                   "--skip-column-names", "--connect-timeout=5"};
  std::vector<std::string> env;
  if (as_root) {
    argv.push_back("--socket=" + socket_path().string());
    argv.push_back("--user=root");
  } else {
    argv.push_back("--protocol=TCP");
    argv.push_back("--host=" + host_);
    argv.push_back("--port=" + std::to_string(port_));
    argv.push_back("--user=" + options_.user);
    // The environment keeps the password off the command line (ps shows argv).
    env.push_back("MYSQL_PWD=" + options_.password);
  }
  for (const auto& a : args) {
    argv.push_back(a);
  }
  return run_command(argv, std::chrono::seconds(60), output, env, stdin_file);
}

std::string MariaDbServer::sql(std::string_view statements, std::string_view database) const {
  std::vector<std::string> args = {"-e", std::string(statements)};
  if (!database.empty()) {
    args.push_back(std::string(database));
  }
  std::string out;
  ExitStatus s = client(args, &out, {}, true);
  if (!s.success()) {
    throw std::runtime_error("mariadb client failed (" + s.describe() + "): " + out);
  }
  return out;
}

std::string MariaDbServer::error_log_tail(std::size_t max_bytes) const {
  std::string log = read_whole_file(error_log());
  if (log.size() > max_bytes) {
    log.erase(0, log.size() - max_bytes);
  }
  return log;
}

}  // namespace gatewayd::test
