#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.hpp"

extern char** environ;

namespace gatewayd::test {
namespace {

ExitStatus decode(int raw) {
  ExitStatus s;
  if (WIFEXITED(raw)) {
    s.exited = true;
    s.code = WEXITSTATUS(raw);
  } else if (WIFSIGNALED(raw)) {
    s.signal = WTERMSIG(raw);
  }
  return s;
}

std::vector<std::string> build_env(const ProcessOptions& o) {
  std::map<std::string, std::string> vars;
  auto put = [&vars](const std::string& entry) {
    auto eq = entry.find('=');
    if (eq == std::string::npos) {
      return;
    }
    vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  };
  if (o.inherit_env) {
    for (char** e = environ; *e != nullptr; ++e) {
      put(*e);
    }
    for (const auto& name : o.unset_env) {
      vars.erase(name);
    }
  }
  for (const auto& entry : o.env) {
    put(entry);
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// Only async-signal-safe calls between fork and exec: everything is prepared beforehand.
[[noreturn]] void child_exit_with_errno(int pipe_fd) {
  int err = errno;
  (void)!::write(pipe_fd, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) {
    return "exit code " + std::to_string(code);
  }
  return std::string("signal ") + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
}

Process Process::spawn(const ProcessOptions& options) {
  if (options.argv.empty()) {
    throw std::runtime_error("Process::spawn: empty argv");
  }
  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = build_env(options);
  std::vector<char*> argv = c_array(argv_strings);
  std::vector<char*> envp = c_array(env_strings);
  // PATH lookup with the child's environment, resolved before fork.
  std::string program = options.argv[0];
  if (program.find('/') == std::string::npos) {
    std::string path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& e : env_strings) {
      if (e.rfind("PATH=", 0) == 0) {
        path_var = e.substr(5);
      }
    }
    std::size_t start = 0;
    while (start <= path_var.size()) {
      std::size_t end = path_var.find(':', start);
      if (end == std::string::npos) {
        end = path_var.size();
      }
      std::string candidate = path_var.substr(start, end - start) + "/" + program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        program = candidate;
        break;
      }
      start = end + 1;
    }
  }
  const std::string wd = options.working_dir.string();
  const std::string out_path = options.stdout_path.string();
  const std::string err_path = options.stderr_path.string();
  const std::string in_path =
      options.stdin_path.empty() ? std::string("/dev/null") : options.stdin_path.string();

  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::close(status_pipe[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    if (options.new_process_group) {
      ::setpgid(0, 0);
    }
    // Default dispositions and an empty mask: the test runner may block or ignore signals.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    int in = ::open(in_path.c_str(), O_RDONLY);
    if (in < 0 || ::dup2(in, 0) < 0) {
      child_exit_with_errno(status_pipe[1]);
    }
    if (!out_path.empty()) {
      int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0 || ::dup2(fd, 1) < 0) {
        child_exit_with_errno(status_pipe[1]);
      }
    }
    if (!err_path.empty()) {
      int fd =
          err_path == out_path ? 1 : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0 || ::dup2(fd, 2) < 0) {
        child_exit_with_errno(status_pipe[1]);
      }
    }
    if (!wd.empty() && ::chdir(wd.c_str()) != 0) {
      child_exit_with_errno(status_pipe[1]);
    }
    // Nothing but 0-2 crosses exec. Asio opens sockets without close-on-exec, so a child would
    // otherwise keep a copy of the test's listening sockets: a fake server "stopped" by the test
    // would still accept connections (into a backlog nobody reads) and could not listen again.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      const long max_fd = ::sysconf(_SC_OPEN_MAX);
      for (int fd = 3; fd < (max_fd > 0 && max_fd < 65536 ? max_fd : 65536); ++fd) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
    }
    ::execve(program.c_str(), argv.data(), envp.data());
    child_exit_with_errno(status_pipe[1]);
  }
  ::close(status_pipe[1]);
  if (options.new_process_group) {
    ::setpgid(pid, pid);  // also from the parent: no window where the group does not exist
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n == sizeof child_errno) {
    int raw = 0;
    ::waitpid(pid, &raw, 0);
    throw std::runtime_error("cannot start " + options.argv[0] + ": " + std::strerror(child_errno));
  }
  return Process(pid, options.new_process_group);
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    kill();
  }
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      group_(other.group_),
      status_(std::exchange(other.status_, std::nullopt)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) {
      kill();
    }
    pid_ = std::exchange(other.pid_, -1);
    group_ = other.group_;
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

bool Process::try_reap() {
  if (pid_ <= 0 || status_) {
    return true;
  }
  int raw = 0;
  pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r == pid_) {
    status_ = decode(raw);
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    status_ = ExitStatus{};  // reaped elsewhere; nothing more to learn
    return true;
  }
  return false;
}

bool Process::running() {
  return pid_ > 0 && !try_reap();
}

std::optional<ExitStatus> Process::wait_for(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!try_reap()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(25));
  }
  return status_;
}

bool Process::signal(int sig) {
  if (pid_ <= 0 || status_) {
    return false;
  }
  return ::kill(pid_, sig) == 0;
}

bool Process::signal_group(int sig) {
  if (pid_ <= 0 || status_) {
    return false;
  }
  return group_ ? ::kill(-pid_, sig) == 0 : ::kill(pid_, sig) == 0;
}

ExitStatus Process::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) {
    return {};
  }
  if (!status_) {
    signal(SIGTERM);
    if (!wait_for(grace)) {
      return kill();
    }
  }
  return *status_;
}

ExitStatus Process::kill() {
  if (pid_ <= 0) {
    return {};
  }
  if (!status_) {
    // The whole group: a shell wrapper's children must not outlive it.
    if (!group_ || ::kill(-pid_, SIGKILL) != 0) {
      ::kill(pid_, SIGKILL);
    }
    int raw = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &raw, 0);
    } while (r < 0 && errno == EINTR);
    status_ = r == pid_ ? decode(raw) : ExitStatus{};
  }
  return *status_;
}

ExitStatus run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                       std::string* output, const std::vector<std::string>& env,
                       const std::filesystem::path& stdin_path) {
  std::optional<TempDir> dir;
  ProcessOptions options;
  options.argv = argv;
  options.env = env;
  options.stdin_path = stdin_path;
  if (output != nullptr) {
    dir.emplace("gatewayd-cmd");
    options.stdout_path = *dir / "output";
    options.stderr_path = options.stdout_path;
  }
  Process p = Process::spawn(options);
  std::optional<ExitStatus> status = p.wait_for(timeout);
  ExitStatus result = status ? *status : p.kill();
  if (output != nullptr) {
    *output = dir->read_file("output");
  }
  return result;
}

}  // namespace gatewayd::test
