#include "gatewayd/logging.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gatewayd/metrics.hpp"
#include "gatewayd/settings.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::logging {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// "2024-05-01T12:34:56.789Z": ISO 8601, UTC, milliseconds.
bool is_timestamp(std::string_view ts) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (ts.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? (ts[i] >= '0' && ts[i] <= '9') : ts[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::vector<std::string> out;
  std::istringstream in(test::read_whole_file(path));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<json> json_lines(const fs::path& path) {
  std::vector<json> out;
  for (const auto& line : lines_of(path)) out.push_back(json::parse(line));  // throws if broken
  return out;
}

class LoggingTest : public ::testing::Test {
 protected:
  LoggingTest() : dir_("gatewayd-logging") {
    settings_.log_directory = (dir_ / "logs").string();
    settings_.log_level = "INFO";
  }
  ~LoggingTest() override { shutdown(); }

  fs::path log(const std::string& name) const { return dir_ / "logs" / name; }

  test::TempDir dir_;
  Settings settings_;
};

TEST(LoggingBeforeInit, AccessorsReturnStderrLogger) {
  shutdown();
  EXPECT_EQ(app().name(), "application");
  EXPECT_EQ(error().name(), "error");
  EXPECT_FALSE(access_enabled());
  EXPECT_TRUE(app().should_log(spdlog::level::info));
  log_access(AccessEntry{});  // a no-op, not a crash
}

TEST(LoggingLevels, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(parse_level("INFO"), spdlog::level::info);
  EXPECT_EQ(parse_level("debug"), spdlog::level::debug);
  EXPECT_EQ(parse_level("Warning"), spdlog::level::warn);
  EXPECT_EQ(parse_level("warn"), spdlog::level::warn);
  EXPECT_EQ(parse_level("ERROR"), spdlog::level::err);
  EXPECT_EQ(parse_level("critical"), spdlog::level::critical);
  EXPECT_FALSE(parse_level("verbose").has_value());
  EXPECT_FALSE(parse_level("").has_value());
}

TEST_F(LoggingTest, CreatesDirectoryAndNamedFiles) {
  settings_.log_directory = (dir_ / "nested" / "deeper").string();
  settings_.log_request_file = "req.log";
  settings_.log_error_file = "err.log";
  settings_.log_access_file = "acc.log";
  settings_.log_audit_file = "aud.log";
  settings_.log_application_file = "app.log";
  init(settings_);
  shutdown();
  for (const char* name : {"req.log", "err.log", "acc.log", "aud.log", "app.log"}) {
    EXPECT_TRUE(fs::exists(dir_ / "nested" / "deeper" / name)) << name;
  }
}

TEST_F(LoggingTest, JsonLinesAreParseableWithTimestampLevelLoggerMsg) {
  init(settings_);
  EXPECT_TRUE(json_format());
  app().info("gateway \"started\"\non port {}", 8001);
  app().debug("not written at info level");
  shutdown();

  const auto lines = json_lines(log("application.log"));
  ASSERT_EQ(lines.size(), 1u);
  const auto& j = lines[0];
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["logger"], "application");
  EXPECT_EQ(j["msg"], "gateway \"started\"\non port 8001");
  EXPECT_TRUE(is_timestamp(j["ts"].get<std::string>())) << j["ts"];
}

TEST_F(LoggingTest, AppWarningsAndErrorsAreMirroredToErrorLog) {
  init(settings_);
  app().info("just info");
  app().warn("disk almost full");
  app().error("reload failed");
  error().error("direct error");
  shutdown();

  const auto app_lines = json_lines(log("application.log"));
  EXPECT_EQ(app_lines.size(), 3u);
  const auto err_lines = json_lines(log("error.log"));
  ASSERT_EQ(err_lines.size(), 3u);
  EXPECT_EQ(err_lines[0]["msg"], "disk almost full");
  EXPECT_EQ(err_lines[0]["logger"], "application");
  EXPECT_EQ(err_lines[0]["level"], "warning");
  EXPECT_EQ(err_lines[1]["msg"], "reload failed");
  EXPECT_EQ(err_lines[2]["logger"], "error");
}

TEST_F(LoggingTest, LevelFromSettingsAndAtRunTime) {
  settings_.log_level = "warning";
  init(settings_);
  app().info("dropped");
  app().warn("kept");
  set_level(spdlog::level::debug);
  app().debug("now kept");
  set_level(spdlog::level::info);
  shutdown();
  const auto lines = json_lines(log("application.log"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["msg"], "kept");
  EXPECT_EQ(lines[1]["msg"], "now kept");
}

TEST_F(LoggingTest, AccessLineHasEveryFieldEscaped) {
  init(settings_);
  ASSERT_TRUE(access_enabled());
  AccessEntry e;
  e.request_id = "req-1";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.client_ip = "10.0.0.7";
  e.method = "GET";
  e.target = "/api/v1/items?q=\"x\"&y=\\";
  e.route = "items";
  e.service = "item-service";
  e.upstream = "127.0.0.1:8002";
  e.status = 200;
  e.duration_ms = 12.3456;
  e.upstream_ms = 10.5;
  e.bytes_in = 12;
  e.bytes_out = 3456;
  e.error_code = "";
  e.user_agent = "evil\nagent\x01 \xff\xfe";  // control characters and invalid UTF-8
  e.user_id = "u1";
  log_access(e);
  shutdown();

  const auto lines = json_lines(log("access.log"));
  ASSERT_EQ(lines.size(), 1u);
  const auto& j = lines[0];
  EXPECT_EQ(j["logger"], "access");
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["client_ip"], "10.0.0.7");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["target"], "/api/v1/items?q=\"x\"&y=\\");
  EXPECT_EQ(j["route"], "items");
  EXPECT_EQ(j["service"], "item-service");
  EXPECT_EQ(j["upstream"], "127.0.0.1:8002");
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 12.346);
  EXPECT_DOUBLE_EQ(j["upstream_ms"].get<double>(), 10.5);
  EXPECT_EQ(j["bytes_in"], 12);
  EXPECT_EQ(j["bytes_out"], 3456);
  EXPECT_EQ(j["error_code"], "");
  EXPECT_EQ(j["user_id"], "u1");
  EXPECT_EQ(j["user_agent"], "evil\nagent\x01 \xef\xbf\xbd\xef\xbf\xbd");
}

TEST_F(LoggingTest, AccessLogRedactsCredentialsInQueryStrings) {
  init(settings_);
  AccessEntry e;
  e.method = "GET";
  e.target = "/v1/data?page=1&api_key=sk-live-123456&access_token=eyJabc";
  e.status = 200;
  log_access(e);
  settings_.log_format = "text";
  init(settings_);
  log_access(e);
  shutdown();
  const auto text = test::read_whole_file(log("access.log"));
  EXPECT_EQ(text.find("sk-live-123456"), std::string::npos) << text;
  EXPECT_EQ(text.find("eyJabc"), std::string::npos) << text;
  const auto lines = lines_of(log("access.log"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["target"],
            "/v1/data?page=1&api_key=REDACTED&access_token=REDACTED");
  EXPECT_NE(lines[1].find("\"GET /v1/data?page=1&api_key=REDACTED&access_token=REDACTED\""),
            std::string::npos)
      << lines[1];
}

TEST_F(LoggingTest, AccessLogCanBeTurnedOff) {
  settings_.access_log_enabled = false;
  init(settings_);
  EXPECT_FALSE(access_enabled());
  AccessEntry e;
  e.status = 200;
  log_access(e);
  shutdown();
  EXPECT_TRUE(lines_of(log("access.log")).empty());
}

TEST_F(LoggingTest, TextFormatIsOneReadableLinePerEvent) {
  settings_.log_format = "TEXT";
  init(settings_);
  EXPECT_FALSE(json_format());
  app().info("first\nsecond");
  AccessEntry e;
  e.request_id = "rid-9";
  e.client_ip = "10.1.2.3";
  e.method = "POST";
  e.target = "/a b";
  e.status = 502;
  e.duration_ms = 1.5;
  e.error_code = "BAD_GATEWAY";
  e.user_agent = "curl/8.0 (x)";
  log_access(e);
  log_audit("config_reload", R"({"result":"ok"})");
  shutdown();

  const auto app_lines = lines_of(log("application.log"));
  ASSERT_EQ(app_lines.size(), 1u);
  ASSERT_GT(app_lines[0].size(), 25u);
  EXPECT_TRUE(is_timestamp(std::string_view(app_lines[0]).substr(0, 24))) << app_lines[0];
  EXPECT_EQ(app_lines[0].substr(24), " info [application] first\\nsecond");

  const auto access_lines = lines_of(log("access.log"));
  ASSERT_EQ(access_lines.size(), 1u);
  const auto& a = access_lines[0];
  EXPECT_NE(a.find("[access] 10.1.2.3 \"POST /a b\" 502 1.500ms rid=rid-9"), std::string::npos)
      << a;
  EXPECT_NE(a.find("err=BAD_GATEWAY"), std::string::npos) << a;
  EXPECT_NE(a.find("ua=\"curl/8.0 (x)\""), std::string::npos) << a;
  EXPECT_NE(a.find("route=-"), std::string::npos) << a;

  const auto audit_lines = lines_of(log("audit.log"));
  ASSERT_EQ(audit_lines.size(), 1u);
  EXPECT_NE(audit_lines[0].find("event=config_reload details={\"result\":\"ok\"}"),
            std::string::npos)
      << audit_lines[0];
}

TEST_F(LoggingTest, AuditAndEventLinesCarryStructuredFields) {
  init(settings_);
  log_audit("api_key_revoked", R"({"key_id":"k1","by":"admin"})");
  log_audit("empty_details", "");
  log_event(app(), spdlog::level::info, "config reloaded",
            {{"result", "ok"},
             {"routes", 12},
             {"took_ms", 3.5},
             {"valid", true},
             {"generation", std::uint64_t{7}},
             {"note", std::string("a\"b")}});
  log_event(app(), spdlog::level::debug, "filtered", {{"x", 1}});
  shutdown();

  const auto audit_lines = json_lines(log("audit.log"));
  ASSERT_EQ(audit_lines.size(), 2u);
  EXPECT_EQ(audit_lines[0]["event"], "api_key_revoked");
  EXPECT_EQ(audit_lines[0]["details"]["key_id"], "k1");
  EXPECT_EQ(audit_lines[0]["logger"], "audit");
  EXPECT_TRUE(audit_lines[1]["details"].is_object());

  const auto app_lines = json_lines(log("application.log"));
  ASSERT_EQ(app_lines.size(), 1u);
  const auto& j = app_lines[0];
  EXPECT_EQ(j["msg"], "config reloaded");
  EXPECT_EQ(j["result"], "ok");
  EXPECT_EQ(j["routes"], 12);
  EXPECT_DOUBLE_EQ(j["took_ms"].get<double>(), 3.5);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["generation"], 7);
  EXPECT_EQ(j["note"], "a\"b");
}

TEST_F(LoggingTest, RotatesAtTheByteLimit) {
  settings_.log_max_bytes = 2048;
  settings_.log_backup_count = 2;
  init(settings_);
  AccessEntry e;
  e.request_id = "rotation-test";
  e.method = "GET";
  e.target = "/some/path/that/makes/the/line/longer";
  e.status = 200;
  // ~300 bytes per line, 60 lines: several rotations; only 2 backups are kept.
  for (int i = 0; i < 60; ++i) log_access(e);
  shutdown();

  EXPECT_TRUE(fs::exists(log("access.log")));
  EXPECT_TRUE(fs::exists(log("access.1.log")));
  EXPECT_TRUE(fs::exists(log("access.2.log")));
  EXPECT_FALSE(fs::exists(log("access.3.log")));
  for (const char* name : {"access.log", "access.1.log", "access.2.log"}) {
    EXPECT_LE(fs::file_size(log(name)), 2048u) << name;
    EXPECT_FALSE(json_lines(log(name)).empty()) << name;  // whole lines, still parseable
  }
}

TEST_F(LoggingTest, StartUpErrorsNameThePathOrVariable) {
  const auto blocker = dir_.write_file("not-a-dir", "x");
  settings_.log_directory = (blocker / "logs").string();
  try {
    init(settings_);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(settings_.log_directory), std::string::npos) << e.what();
  }

  settings_.log_directory = (dir_ / "logs").string();
  settings_.log_application_file = "sub/missing-dir/app.log";
  fs::create_directories(dir_ / "logs");
  dir_.write_file("logs/sub", "a file where a directory is needed");
  try {
    init(settings_);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("app.log"), std::string::npos) << e.what();
  }

  settings_.log_application_file = "application.log";
  settings_.log_level = "loud";
  EXPECT_THROW(init(settings_), std::runtime_error);
  settings_.log_level = "info";
  settings_.log_format = "xml";
  try {
    init(settings_);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("LOG_FORMAT"), std::string::npos) << e.what();
  }
}

TEST_F(LoggingTest, ReinitReplacesLoggersAndDropCounterIsExported) {
  init(settings_);
  app().info("one");
  settings_.log_format = "text";
  init(settings_);
  EXPECT_FALSE(json_format());
  app().info("two");
  const auto text = metrics::Registry::global().render();
  EXPECT_NE(text.find("# TYPE gatewayd_log_dropped_total counter"), std::string::npos);
  shutdown();
  const auto lines = lines_of(log("application.log"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(json::accept(lines[0]));
  EXPECT_NE(lines[1].find("[application] two"), std::string::npos);
}

TEST_F(LoggingTest, ConcurrentWritersProduceWholeLines) {
  init(settings_);
  std::vector<std::thread> threads;
  constexpr int kThreads = 4;
  constexpr int kLines = 500;  // well below the queue size: nothing is dropped
  const auto before = dropped_messages();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        AccessEntry e;
        const std::string rid = std::to_string(t) + "-" + std::to_string(i);
        e.request_id = rid;
        e.status = 200;
        log_access(e);
      }
    });
  }
  for (auto& th : threads) th.join();
  shutdown();
  const auto lines = json_lines(log("access.log"));
  EXPECT_EQ(lines.size() + (dropped_messages() - before), std::size_t{kThreads * kLines});
}

}  // namespace
}  // namespace gatewayd::logging
