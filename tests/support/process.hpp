#pragma once
// A child process for tests: spawn a program with argv/env, wait with a timeout, signal it.
// The destructor kills (SIGKILL) and reaps a child that is still running, so a failing test
// never leaves servers behind. Children also get SIGKILL if the spawning thread dies (Linux
// PR_SET_PDEATHSIG), which covers a crashed test binary; spawn long-lived servers from the test's
// main thread or from a thread that outlives them.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gatewayd::test {

struct ProcessOptions {
  // argv[0] is the program: a path, or a bare name looked up in PATH.
  std::vector<std::string> argv;
  // "KEY=VALUE" entries added to (and overriding) the inherited environment.
  std::vector<std::string> env;
  // When false, the child sees only `env`.
  bool inherit_env = true;
  // Names removed from the inherited environment (e.g. variables a test must not leak).
  std::vector<std::string> unset_env;
  // Empty = current directory.
  std::filesystem::path working_dir;
  // Where stdout / stderr go (created or appended). Empty = inherited from the test process.
  std::filesystem::path stdout_path, stderr_path;
  // stdin is /dev/null unless this is set.
  std::filesystem::path stdin_path;
  // Own process group, so a terminal's Ctrl-C aimed at the test does not hit the child first and
  // signal_group() reaches its descendants.
  bool new_process_group = true;
};

struct ExitStatus {
  bool exited = false;  // normal exit: `code` is valid
  int code = 0;
  int signal = 0;  // killed by this signal when !exited
  bool success() const noexcept { return exited && code == 0; }
  std::string describe() const;
};

class Process {
 public:
  Process() = default;
  // Starts the child. Throws std::runtime_error when the program cannot be started (fork
  // failure, or exec failure such as a missing binary: reported synchronously).
  static Process spawn(const ProcessOptions& options);
  static Process spawn(std::vector<std::string> argv) {
    ProcessOptions options;
    options.argv = std::move(argv);
    return spawn(options);
  }

  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // True while the child has not been reaped yet (reaps it if it just exited).
  bool running();
  // Exit status once reaped, else nullopt.
  const std::optional<ExitStatus>& status() const noexcept { return status_; }

  // Waits up to `timeout` for the child to exit. nullopt = still running.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  // Sends `sig` to the child (or to its process group); false if it is gone.
  bool signal(int sig);
  bool signal_group(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL and wait. Returns the final status.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL (to the process group when it has its own) and reap.
  ExitStatus kill();

 private:
  explicit Process(pid_t pid, bool group) : pid_(pid), group_(group) {}
  bool try_reap();
  void reset() noexcept;

  pid_t pid_ = -1;
  bool group_ = false;
  std::optional<ExitStatus> status_;
};

// Runs a program to completion (stdout+stderr captured into `output` when non-null).
// Kills it and returns an ExitStatus with signal=SIGKILL when `timeout` passes.
ExitStatus run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                       std::string* output = nullptr, const std::vector<std::string>& env = {},
                       const std::filesystem::path& stdin_path = {});

}  // namespace gatewayd::test
