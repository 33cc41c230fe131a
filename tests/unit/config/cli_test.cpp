#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "gatewayd/settings.hpp"

namespace gatewayd {
namespace {

using ::testing::HasSubstr;

CliOptions parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"gatewayd"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(static_cast<int>(argv.size()), argv.data());
}

std::string usage_error(std::initializer_list<const char*> args) {
  try {
    parse(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Cli, NoArgumentsGiveDefaults) {
  const auto o = parse({});
  EXPECT_EQ(o.env, "default");
  EXPECT_FALSE(o.config_dir);
  EXPECT_FALSE(o.host);
  EXPECT_FALSE(o.port);
  EXPECT_FALSE(o.workers);
  EXPECT_FALSE(o.log_level);
  EXPECT_FALSE(o.check_config || o.create_env || o.version || o.help || o.init_db || o.verify);
}

TEST(Cli, SeparateValues) {
  const auto o = parse({"--env", "dev", "--config-dir", "/etc/gw", "--host", "127.0.0.1", "--port",
                        "9000", "--workers", "4", "--log-level", "DEBUG"});
  EXPECT_EQ(o.env, "dev");
  EXPECT_EQ(o.config_dir, "/etc/gw");
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 9000);
  EXPECT_EQ(o.workers, 4u);
  EXPECT_EQ(o.log_level, "debug");
}

TEST(Cli, InlineValues) {
  const auto o = parse({"--env=prod", "--config-dir=cfg", "--host=::1", "--port=1", "--workers=0",
                        "--log-level=warning"});
  EXPECT_EQ(o.env, "prod");
  EXPECT_EQ(o.config_dir, "cfg");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 1);
  EXPECT_EQ(o.workers, 0u);
  EXPECT_EQ(o.log_level, "warning");
}

TEST(Cli, BooleanFlags) {
  const auto o =
      parse({"--check-config", "--create-env", "--init-db", "--verify", "--version", "--help"});
  EXPECT_TRUE(o.check_config);
  EXPECT_TRUE(o.create_env);
  EXPECT_TRUE(o.init_db);
  EXPECT_TRUE(o.verify);
  EXPECT_TRUE(o.version);
  EXPECT_TRUE(o.help);
  EXPECT_TRUE(parse({"-h"}).help);
}

TEST(Cli, LastValueWins) {
  EXPECT_EQ(parse({"--port", "1000", "--port=2000"}).port, 2000);
}

TEST(Cli, Errors) {
  EXPECT_THAT(usage_error({"--bogus"}), HasSubstr("unknown option --bogus"));
  EXPECT_THAT(usage_error({"--port"}), HasSubstr("--port needs a value"));
  EXPECT_THAT(usage_error({"--port="}), HasSubstr("--port needs a value"));
  EXPECT_THAT(usage_error({"--env", "--port", "1"}), HasSubstr("--env needs a value"));
  EXPECT_THAT(usage_error({"--port", "abc"}), HasSubstr("PORT"));
  EXPECT_THAT(usage_error({"--port", "70000"}), HasSubstr("--port"));
  EXPECT_THAT(usage_error({"--port", "0"}), HasSubstr("--port"));
  EXPECT_THAT(usage_error({"--workers", "-1"}), HasSubstr("WORKERS"));
  EXPECT_THAT(usage_error({"--workers", "2x"}), HasSubstr("WORKERS"));
  EXPECT_THAT(usage_error({"--log-level", "loud"}), HasSubstr("LOG_LEVEL"));
  EXPECT_THAT(usage_error({"--check-config=yes"}), HasSubstr("takes no value"));
  EXPECT_THAT(usage_error({"serve"}), HasSubstr("unexpected argument 'serve'"));
  EXPECT_THAT(usage_error({"-x"}), HasSubstr("unexpected argument"));
  EXPECT_THAT(usage_error({"--"}), HasSubstr("unexpected argument"));
  EXPECT_THAT(usage_error({"--env", "../etc"}), HasSubstr("invalid profile name"));
  EXPECT_THAT(usage_error({"--env", "a/b"}), HasSubstr("invalid profile name"));
}

TEST(Cli, UsageMentionsEveryFlag) {
  const auto text = usage_text();
  for (const char* flag :
       {"--env", "--config-dir", "--host", "--port", "--workers", "--log-level", "--check-config",
        "--create-env", "--init-db", "--verify", "--version", "--help"}) {
    EXPECT_THAT(text, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace gatewayd
