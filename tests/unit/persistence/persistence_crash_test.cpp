// The gateway process killed with SIGKILL: the test binary re-runs itself as a child that owns a
// PersistenceService, kills it, and checks what a new service makes of the spool it left.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "mysql_fixture.hpp"
#include "persistence/persistence_service.hpp"
#include "persistence/spool_file.hpp"
#include "support/free_port.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

using namespace std::chrono_literals;
using persistence::PersistenceOptions;
using persistence::PersistenceService;
using persistence::SpoolFile;

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

PersistenceOptions child_options() {
  PersistenceOptions o;
  o.mysql.host = "127.0.0.1";
  o.mysql.port = static_cast<std::uint16_t>(std::atoi(env("GW_CHILD_PORT")));
  o.mysql.user = env("GW_CHILD_USER");
  o.mysql.password = env("GW_CHILD_PASSWORD");
  o.mysql.database = env("GW_CHILD_DATABASE");
  o.mysql.connect_timeout = 1s;
  o.spool_path = env("GW_CHILD_SPOOL");
  o.batch_size = static_cast<std::size_t>(std::atoi(env("GW_CHILD_BATCH")));
  o.flush_interval = 10ms;
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  o.register_metrics = false;
  return o;
}

// Runs only as the child of the tests below (disabled in normal runs).
TEST(PersistenceCrashChild, DISABLED_Run) {
  PersistenceService service(child_options());
  service.start();
  const int n = std::atoi(env("GW_CHILD_SUBMIT"));
  for (int i = 0; i < n; ++i) {
    RequestRecord r;
    r.request_id = "crash-" + std::to_string(i);
    r.method = "GET";
    r.path = "/c";
    r.status_code = 200;
    r.created_at = std::chrono::system_clock::now();
    service.submit(r);
  }
  if (n > 0) {
    ASSERT_TRUE(service.flush(60s));
  }
  std::ofstream(env("GW_CHILD_READY")) << "ready\n";
  while (true) {
    std::this_thread::sleep_for(1s);  // until SIGKILL
  }
}

class PersistenceCrashTest : public MySqlTest {
 protected:
  Process spawn_child(const std::vector<std::string>& extra_env) {
    ProcessOptions p;
    p.argv = {"/proc/self/exe", "--gtest_also_run_disabled_tests",
              "--gtest_filter=PersistenceCrashChild.DISABLED_Run"};
    p.env = {"GW_CHILD_USER=" + options_.user, "GW_CHILD_PASSWORD=" + options_.password,
             "GW_CHILD_DATABASE=" + options_.database,
             "GW_CHILD_SPOOL=" + (dir_ / "records.spool").string(),
             "GW_CHILD_READY=" + (dir_ / "ready").string()};
    p.env.insert(p.env.end(), extra_env.begin(), extra_env.end());
    p.stdout_path = dir_ / "child.log";
    p.stderr_path = p.stdout_path;
    return Process::spawn(p);
  }
  PersistenceOptions parent_options() {
    PersistenceOptions o;
    o.mysql = options_;
    o.spool_path = dir_ / "records.spool";
    o.batch_size = 100;
    o.flush_interval = 10ms;
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    o.register_metrics = false;
    return o;
  }
  TempDir dir_{"gw-crash"};
};

TEST_F(PersistenceCrashTest, KilledWhileTheDatabaseIsDownLosesNothingFlushed) {
  Process child = spawn_child({"GW_CHILD_PORT=" + std::to_string(free_port()),  // no database
                               "GW_CHILD_BATCH=50", "GW_CHILD_SUBMIT=700"});
  ASSERT_TRUE(eventually([&] { return !dir_.read_file("ready").empty() || !child.running(); }, 60s))
      << dir_.read_file("child.log");
  ASSERT_TRUE(child.running()) << dir_.read_file("child.log");
  child.kill();

  PersistenceService service(parent_options());
  EXPECT_EQ(service.stats().spool_records, 700u);
  service.start();
  ASSERT_TRUE(eventually([&] { return service.stats().spool_bytes == 0; }));
  EXPECT_EQ(count("gateway_logs"), 700);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT request_id) FROM gateway_logs"), "700");
}

TEST_F(PersistenceCrashTest, KilledInTheMiddleOfAReplayCountsEveryRecordOnce) {
  // Rate-limit counts add up on every write, so any record replayed twice (or lost) shows in the
  // final sum: only the checkpoint committed with each batch makes it come out exact.
  constexpr int kRecords = 3000;
  const auto window = SystemTime(std::chrono::seconds(1'700'000'000));
  {
    SpoolFile spool(dir_ / "records.spool", 64 << 20);
    std::vector<Record> batch;
    for (int i = 0; i < kRecords; ++i) {
      batch.push_back(RateLimitRecord{"user:crash", "minute", "/api", 1, window, window + 60s});
    }
    ASSERT_EQ(spool.append(batch, true), SpoolFile::AppendResult::kOk);
  }
  Process child = spawn_child({"GW_CHILD_PORT=" + std::to_string(server_->port()),
                               "GW_CHILD_BATCH=5", "GW_CHILD_SUBMIT=0"});
  auto replayed = [&] {
    return std::atol(("0" + scalar("SELECT request_count FROM rate_limit_records")).c_str());
  };
  ASSERT_TRUE(eventually([&] { return replayed() > 0 || !child.running(); }, 60s))
      << dir_.read_file("child.log");
  child.kill();
  const long at_kill = replayed();
  EXPECT_GT(at_kill, 0);

  PersistenceService service(parent_options());
  service.start();
  ASSERT_TRUE(eventually([&] { return service.stats().spool_bytes == 0; }));
  service.stop();
  EXPECT_EQ(replayed(), kRecords) << "killed after " << at_kill;
  EXPECT_EQ(service.stats().records_replayed + static_cast<std::uint64_t>(at_kill),
            static_cast<std::uint64_t>(kRecords));
}

}  // namespace
}  // namespace gatewayd::test
