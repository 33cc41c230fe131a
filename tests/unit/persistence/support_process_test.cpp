// The child-process, port and temp-dir helpers the server launchers are built on.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "support/free_port.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

TEST(SupportProcess, RunsAndReportsExitCode) {
  std::string out;
  ExitStatus s =
      run_command({"sh", "-c", "echo hello; echo err >&2; exit 3"}, std::chrono::seconds(10), &out);
  EXPECT_TRUE(s.exited);
  EXPECT_EQ(s.code, 3);
  EXPECT_NE(out.find("hello"), std::string::npos);
  EXPECT_NE(out.find("err"), std::string::npos);
}

TEST(SupportProcess, PassesEnvironment) {
  std::string out;
  ExitStatus s = run_command({"sh", "-c", "printf '%s' \"$GW_TEST_VALUE\""},
                             std::chrono::seconds(10), &out, {"GW_TEST_VALUE=a b"});
  EXPECT_TRUE(s.success());
  EXPECT_EQ(out, "a b");
}

TEST(SupportProcess, MissingProgramThrows) {
  EXPECT_THROW(Process::spawn({"/nonexistent/gatewayd-no-such-binary"}), std::runtime_error);
}

TEST(SupportProcess, TerminateAndKill) {
  Process p = Process::spawn({"sleep", "30"});
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.wait_for(std::chrono::milliseconds(20)).has_value());
  ExitStatus s = p.terminate(std::chrono::seconds(10));
  EXPECT_FALSE(s.exited);
  EXPECT_EQ(s.signal, SIGTERM);
  EXPECT_FALSE(p.running());

  // A child that ignores SIGTERM is killed after the grace period.
  TempDir dir("gw-support");
  ProcessOptions options;
  options.argv = {"sh", "-c", "trap '' TERM; echo ready; sleep 30"};
  options.stdout_path = dir / "out";
  Process stubborn = Process::spawn(options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (dir.read_file("out").empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(dir.read_file("out"), "ready\n");
  s = stubborn.terminate(std::chrono::milliseconds(200));
  EXPECT_EQ(s.signal, SIGKILL);
}

TEST(SupportProcess, DestructorKillsChild) {
  pid_t pid;
  {
    Process p = Process::spawn({"sleep", "30"});
    pid = p.pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: no such process
}

TEST(SupportTempDir, CreatesWritesRemoves) {
  std::filesystem::path where;
  {
    TempDir dir("gw-support");
    where = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(where));
    dir.write_file("a/b.txt", "content");
    EXPECT_EQ(dir.read_file("a/b.txt"), "content");
    EXPECT_EQ(dir.read_file("missing"), "");
  }
  EXPECT_FALSE(std::filesystem::exists(where));
}

TEST(SupportFreePort, DistinctAndListenable) {
  std::uint16_t a = free_port();
  std::uint16_t b = free_port();
  EXPECT_NE(a, b);
  EXPECT_FALSE(port_accepts(a));
  EXPECT_FALSE(wait_for_port(a, std::chrono::milliseconds(50)));
}

}  // namespace
}  // namespace gatewayd::test
