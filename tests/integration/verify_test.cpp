// `gatewayd --verify` and `gatewayd --check-config` against real services: the demo upstream,
// redis-server, mariadbd and etcd on loopback. Each run happens in an empty directory, so no
// stray .env file takes part.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/etcd_server.hpp"
#include "support/free_port.hpp"
#include "support/gateway_process.hpp"
#include "support/mariadb_server.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

using namespace std::chrono_literals;

const char* kPublicRoutes = R"(routes:
  - path: /demo/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
)";

const char* kPrivateRoutes = R"(routes:
  - path: /private/**
    service: demo
    methods: [GET]
    auth_required: true
    strip_prefix: true
)";

std::string services_for(const std::string& url) {
  return "services:\n  demo:\n    instances:\n      - url: " + url +
         "\n    health_check: {path: /health, timeout: 2}\n";
}

struct RunResult {
  ExitStatus status;
  std::string output;
};

// The status word of the table row named `check` ("OK", "FAIL", "SKIP"), or "" when no row has
// that name.
std::string status_of(const std::string& output, const std::string& check) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(check + "  ", 0) != 0) continue;
    std::istringstream rest(line.substr(check.size()));
    std::string status;
    rest >> status;
    return status;
  }
  return {};
}

// The whole row named `check`.
std::string row_of(const std::string& output, const std::string& check) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(check + "  ", 0) == 0) return line;
  }
  return {};
}

class VerifyTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() { db_ = std::make_unique<MariaDbServer>(); }
  static void TearDownTestSuite() { db_.reset(); }

 protected:
  void SetUp() override {
    if (!db_->running()) db_->start();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    database_ = "itv_" + std::string(info->name()).substr(0, 50);
    for (char& ch : database_) {
      if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
    }
    dir_.write_file("config/routes.yaml", kPublicRoutes);
    dir_.write_file("config/services.yaml", services_for("http://127.0.0.1:1"));
    env_ = {
        {"LOG_DIRECTORY", (dir_ / "logs").string()},
        {"DATA_DIRECTORY", (dir_ / "data").string()},
        {"MYSQL_ENABLED", "false"},
        {"REDIS_ENABLED", "false"},
        {"TRACING_ENABLED", "false"},
        {"SERVICE_DISCOVERY_TYPE", "static"},
        {"JWT_SECRET_KEY", ""},
    };
  }

  void use_upstream(const std::string& url) {
    dir_.write_file("config/services.yaml", services_for(url));
  }

  void use_mysql() {
    env_["MYSQL_ENABLED"] = "true";
    env_["MYSQL_HOST"] = db_->host();
    env_["MYSQL_PORT"] = std::to_string(db_->port());
    env_["MYSQL_USER"] = db_->user();
    env_["MYSQL_PASSWORD"] = db_->password();
    env_["MYSQL_DATABASE"] = database_;
    env_["MYSQL_CONNECT_TIMEOUT_MS"] = "1000";
  }

  void use_redis(const RedisServer& redis, const std::string& password) {
    env_["REDIS_ENABLED"] = "true";
    env_["REDIS_HOST"] = redis.host();
    env_["REDIS_PORT"] = std::to_string(redis.port());
    env_["REDIS_PASSWORD"] = password;
  }

  // Runs gatewayd with `args` in an empty working directory and the test's settings.
  RunResult run(const std::vector<std::string>& args) const {
    TempDir work("gatewayd-verify");
    ProcessOptions o;
    o.argv = {gatewayd_binary(), "--config-dir", (dir_ / "config").string()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.working_dir = work.path();
    o.stdout_path = work / "output.log";
    o.stderr_path = o.stdout_path;
    for (const auto& [k, v] : env_) o.env.push_back(k + "=" + v);
    Process p = Process::spawn(o);
    auto status = p.wait_for(120s);
    if (!status) status = p.kill();
    return RunResult{*status, work.read_file("output.log")};
  }

  RunResult verify() const { return run({"--verify"}); }

  void init_db() const {
    const RunResult r = run({"--init-db"});
    ASSERT_TRUE(r.status.success()) << r.status.describe() << ": " << r.output;
  }

  static inline std::unique_ptr<MariaDbServer> db_;
  TempDir dir_{"gatewayd-verify-cfg"};
  std::string database_;
  std::map<std::string, std::string> env_;
};

TEST_F(VerifyTest, AllServicesHealthyPassesWithOkRows) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  DemoUpstream upstream;
  RedisServer redis(
      RedisServerOptions{.password = "verify-secret", .cluster = false, .extra_args = {}});
  use_upstream(upstream.url());
  use_mysql();
  use_redis(redis, "verify-secret");
  init_db();

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 0) << r.output;
  EXPECT_TRUE(r.status.exited) << r.output;
  for (const char* check : {"config", "jwt keys", "log directory", "data directory", "mysql",
                            "mysql schema", "redis"}) {
    EXPECT_EQ(status_of(r.output, check), "OK") << check << "\n" << r.output;
  }
  EXPECT_EQ(status_of(r.output, "upstream demo 127.0.0.1:" + std::to_string(upstream.port())), "OK")
      << r.output;
  EXPECT_EQ(status_of(r.output, "discovery"), "SKIP") << r.output;
  EXPECT_EQ(status_of(r.output, "tracing"), "SKIP") << r.output;
  EXPECT_NE(r.output.find("CHECK"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
}

TEST_F(VerifyTest, UpstreamDownFails) {
  DemoUpstream upstream;
  use_upstream(upstream.url());
  upstream.stop();

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  const std::string check = "upstream demo 127.0.0.1:" + std::to_string(upstream.port());
  EXPECT_EQ(status_of(r.output, check), "FAIL") << r.output;
  EXPECT_NE(row_of(r.output, check).find("hint:"), std::string::npos) << r.output;
  EXPECT_EQ(status_of(r.output, "config"), "OK") << r.output;
}

TEST_F(VerifyTest, RedisDownFails) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  DemoUpstream upstream;
  use_upstream(upstream.url());
  RedisServer redis;
  use_redis(redis, "");
  redis.stop();

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_EQ(status_of(r.output, "redis"), "FAIL") << r.output;
  EXPECT_NE(row_of(r.output, "redis").find("REDIS_HOST"), std::string::npos) << r.output;
}

TEST_F(VerifyTest, RedisWithoutPasswordIsRefused) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  DemoUpstream upstream;
  use_upstream(upstream.url());
  RedisServer redis(RedisServerOptions{.password = "needed", .cluster = false, .extra_args = {}});
  use_redis(redis, "");

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_EQ(status_of(r.output, "redis"), "FAIL") << r.output;
  EXPECT_NE(row_of(r.output, "redis").find("NOAUTH"), std::string::npos) << r.output;
}

TEST_F(VerifyTest, MissingSchemaFailsWithInitDbHint) {
  DemoUpstream upstream;
  use_upstream(upstream.url());
  use_mysql();  // the test's database was never created

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_EQ(status_of(r.output, "mysql"), "OK") << r.output;
  EXPECT_EQ(status_of(r.output, "mysql schema"), "FAIL") << r.output;
  EXPECT_NE(row_of(r.output, "mysql schema").find("run gatewayd --init-db"), std::string::npos)
      << r.output;

  // A database without the schema table is reported the same way.
  db_->sql("CREATE DATABASE " + database_);
  const RunResult empty = verify();
  EXPECT_EQ(empty.status.code, 1) << empty.output;
  EXPECT_NE(row_of(empty.output, "mysql schema").find("schema_version missing"), std::string::npos)
      << empty.output;
}

TEST_F(VerifyTest, MySqlDownFails) {
  DemoUpstream upstream;
  use_upstream(upstream.url());
  use_mysql();
  env_["MYSQL_PORT"] = std::to_string(free_port());

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_EQ(status_of(r.output, "mysql"), "FAIL") << r.output;
  EXPECT_EQ(status_of(r.output, "mysql schema"), "SKIP") << r.output;
}

TEST_F(VerifyTest, UnwritableLogDirectoryFails) {
  DemoUpstream upstream;
  use_upstream(upstream.url());
  // A regular file where a folder should be: no folder can be created below it.
  const auto blocker = dir_.write_file("not-a-dir", "x");
  env_["LOG_DIRECTORY"] = (blocker / "logs").string();

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_EQ(status_of(r.output, "log directory"), "FAIL") << r.output;
  EXPECT_NE(row_of(r.output, "log directory").find("LOG_DIRECTORY"), std::string::npos) << r.output;
  EXPECT_EQ(status_of(r.output, "data directory"), "OK") << r.output;
}

TEST_F(VerifyTest, TracingCollectorDownFails) {
  DemoUpstream upstream;
  use_upstream(upstream.url());
  env_["TRACING_ENABLED"] = "true";
  env_["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:" + std::to_string(free_port());

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_EQ(status_of(r.output, "tracing"), "FAIL") << r.output;

  // Any listener on the port will do: the check only proves the collector is reachable.
  env_["OTEL_EXPORTER_OTLP_ENDPOINT"] = upstream.url();
  const RunResult up = verify();
  EXPECT_EQ(up.status.code, 0) << up.output;
  EXPECT_EQ(status_of(up.output, "tracing"), "OK") << up.output;
}

TEST_F(VerifyTest, EtcdDiscoveryBackendIsChecked) {
  if (!etcd_installed()) GTEST_SKIP() << "etcd not installed";
  DemoUpstream upstream;
  use_upstream(upstream.url());
  env_["SERVICE_DISCOVERY_TYPE"] = "etcd";
  env_["ETCD_ENDPOINTS"] = "http://127.0.0.1:" + std::to_string(free_port());

  const RunResult down = verify();
  EXPECT_EQ(down.status.code, 1) << down.output;
  EXPECT_EQ(status_of(down.output, "discovery etcd"), "FAIL") << down.output;

  EtcdServer etcd;
  env_["ETCD_ENDPOINTS"] = etcd.url();
  const RunResult up = verify();
  EXPECT_EQ(up.status.code, 0) << up.output;
  EXPECT_EQ(status_of(up.output, "discovery etcd"), "OK") << up.output;
}

TEST_F(VerifyTest, JwtRouteWithoutKeysFailsCheckConfigAndVerify) {
  DemoUpstream upstream;
  use_upstream(upstream.url());
  dir_.write_file("config/routes.yaml", kPrivateRoutes);

  const RunResult check = run({"--check-config"});
  EXPECT_EQ(check.status.code, 1) << check.output;
  EXPECT_NE(check.output.find("configuration invalid"), std::string::npos) << check.output;

  const RunResult r = verify();
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_EQ(status_of(r.output, "jwt keys"), "FAIL") << r.output;

  // With a key the same routes pass both.
  env_["JWT_SECRET_KEY"] = "a-test-secret-of-at-least-32-bytes-long!";
  env_["JWT_ALGORITHM"] = "HS256";
  const RunResult fixed = run({"--check-config"});
  EXPECT_EQ(fixed.status.code, 0) << fixed.output;
  const RunResult verified = verify();
  EXPECT_EQ(verified.status.code, 0) << verified.output;
  EXPECT_EQ(status_of(verified.output, "jwt keys"), "OK") << verified.output;
}

}  // namespace
}  // namespace gatewayd::test
