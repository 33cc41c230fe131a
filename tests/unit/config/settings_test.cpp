#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "config/settings_table.hpp"
#include "gatewayd/settings.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Env = std::map<std::string, std::string>;

class SettingsTest : public ::testing::Test {
 protected:
  Settings load(const CliOptions& cli = {}, const Env& env = {}) {
    return load_settings(cli, dir_.path().string(), env);
  }
  std::string error(const CliOptions& cli = {}, const Env& env = {}) {
    try {
      load(cli, env);
    } catch (const SettingsError& e) {
      return e.what();
    }
    return "no error";
  }
  void write(const std::string& name, const std::string& text) { dir_.write_file(name, text); }
  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }

  test::TempDir dir_{"gatewayd-settings"};
};

CliOptions with_env(const std::string& env) {
  CliOptions cli;
  cli.env = env;
  return cli;
}

TEST_F(SettingsTest, DefaultsWithoutAnyFile) {
  const auto s = load();
  EXPECT_EQ(s.environment, "default");
  EXPECT_EQ(s.port, 8001);
  EXPECT_EQ(s.host, "0.0.0.0");
  EXPECT_EQ(s.workers, 0u);
  EXPECT_EQ(s.log_level, "info");
  EXPECT_EQ(s.log_format, "json");
  EXPECT_EQ(s.config_dir, "config");
  EXPECT_EQ(s.admin_host, "127.0.0.1");
  EXPECT_EQ(s.admin_port, 9901);
  EXPECT_EQ(s.max_header_bytes, 16384u);
  EXPECT_EQ(s.header_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(s.upstream_connect_timeout, std::chrono::milliseconds(5'000));
  EXPECT_EQ(s.shutdown_grace_seconds, 15u);
  EXPECT_TRUE(s.access_log_enabled);
  EXPECT_TRUE(s.watch_config);
  EXPECT_FALSE(s.log_to_stdout);
  EXPECT_FALSE(s.node_id.empty());  // the host name
  EXPECT_THAT(s.warnings, IsEmpty());
  EXPECT_THAT(s.loaded_files, IsEmpty());
  // Every variable of the table is resolved.
  for (const auto& spec : settings_table()) {
    EXPECT_EQ(s.raw.count(std::string(spec.name)), 1u) << spec.name;
  }
  EXPECT_EQ(s.get("MYSQL_DATABASE"), "gateway_db");
  EXPECT_EQ(s.get_int("REDIS_PORT"), 6379);
}

TEST_F(SettingsTest, TableNamesAreUniqueAndDefaultsValid) {
  std::map<std::string, int> seen;
  for (const auto& spec : settings_table()) {
    EXPECT_EQ(++seen[std::string(spec.name)], 1) << spec.name;
    EXPECT_FALSE(spec.description.empty()) << spec.name;
    EXPECT_FALSE(spec.group.empty()) << spec.name;
    EXPECT_EQ(find_setting(spec.name), &spec);
  }
  EXPECT_EQ(find_setting("NOT_A_SETTING"), nullptr);
  // The defaults load (checked by DefaultsWithoutAnyFile); these are the reference names.
  for (const char* name : {"ENVIRONMENT",
                           "DEBUG",
                           "HOST",
                           "PORT",
                           "JWT_SECRET_KEY",
                           "JWT_ALGORITHM",
                           "JWT_EXPIRATION_MINUTES",
                           "JWT_PUBLIC_KEY_PATH",
                           "JWT_PRIVATE_KEY_PATH",
                           "JWT_REFRESH_EXPIRATION_DAYS",
                           "JWT_REFRESH_ROTATION_ENABLED",
                           "API_KEY_ENABLED",
                           "API_KEY_HEADER",
                           "MYSQL_HOST",
                           "MYSQL_PORT",
                           "MYSQL_USER",
                           "MYSQL_PASSWORD",
                           "MYSQL_DATABASE",
                           "REDIS_HOST",
                           "REDIS_PORT",
                           "REDIS_PASSWORD",
                           "REDIS_DB",
                           "REDIS_CLUSTER_ENABLED",
                           "REDIS_CLUSTER_NODES",
                           "REDIS_CLUSTER_PASSWORD",
                           "SERVICE_DISCOVERY_TYPE",
                           "NACOS_SERVER_ADDRESSES",
                           "NACOS_NAMESPACE",
                           "NACOS_GROUP",
                           "NACOS_USERNAME",
                           "NACOS_PASSWORD",
                           "CONSUL_HOST",
                           "CONSUL_PORT",
                           "CONSUL_TOKEN",
                           "ETCD_ENDPOINTS",
                           "ETCD_PREFIX",
                           "RATE_LIMIT_ENABLED",
                           "RATE_LIMIT_PER_MINUTE",
                           "RATE_LIMIT_MYSQL_ENABLED",
                           "RATE_LIMIT_MYSQL_ASYNC",
                           "CIRCUIT_BREAKER_ENABLED",
                           "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
                           "CIRCUIT_BREAKER_SUCCESS_THRESHOLD",
                           "CIRCUIT_BREAKER_TIMEOUT_SECONDS",
                           "CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS",
                           "RETRY_ENABLED",
                           "RETRY_MAX_ATTEMPTS",
                           "RETRY_BACKOFF_FACTOR",
                           "RETRY_MAX_DELAY_SECONDS",
                           "LOAD_BALANCER_STRATEGY",
                           "LOG_LEVEL",
                           "LOG_FORMAT",
                           "LOG_DIRECTORY",
                           "LOG_REQUEST_FILE",
                           "LOG_ERROR_FILE",
                           "LOG_ACCESS_FILE",
                           "LOG_AUDIT_FILE",
                           "LOG_APPLICATION_FILE",
                           "LOG_MAX_BYTES",
                           "LOG_BACKUP_COUNT",
                           "TRACING_ENABLED",
                           "JAEGER_AGENT_HOST",
                           "JAEGER_AGENT_PORT",
                           "OTEL_EXPORTER_OTLP_ENDPOINT",
                           "TRACING_SAMPLE_RATIO",
                           "CORS_ENABLED",
                           "ALLOWED_ORIGINS",
                           "DEPLOYMENT_MODE",
                           "CLUSTER_ENABLED",
                           "CLUSTER_NAME",
                           "CLUSTER_NODE_ID"}) {
    EXPECT_NE(find_setting(name), nullptr) << name;
  }
  for (const char* secret :
       {"JWT_SECRET_KEY", "MYSQL_PASSWORD", "REDIS_PASSWORD", "REDIS_CLUSTER_PASSWORD",
        "NACOS_PASSWORD", "CONSUL_TOKEN", "ADMIN_TOKEN", "AUTH_TOKEN_CLIENT_SECRET"}) {
    ASSERT_NE(find_setting(secret), nullptr) << secret;
    EXPECT_TRUE(find_setting(secret)->secret) << secret;
  }
}

TEST_F(SettingsTest, LayersInOrder) {
  write(".env", "PORT=9000\nHOST=10.0.0.1\nLOG_LEVEL=warning\nWORKERS=2\n");
  write(".env.dev", "PORT=9100\nHOST=10.0.0.2\nLOG_LEVEL=error\n");
  const Env env{{"PORT", "9200"}, {"HOST", "10.0.0.3"}};
  CliOptions cli = with_env("dev");
  cli.port = 9300;

  auto s = load(with_env("dev"));
  EXPECT_EQ(s.port, 9100);
  EXPECT_EQ(s.host, "10.0.0.2");
  EXPECT_EQ(s.log_level, "error");
  EXPECT_EQ(s.workers, 2u);  // only in .env
  EXPECT_EQ(s.environment, "dev");
  EXPECT_THAT(s.loaded_files, ElementsAre(path(".env"), path(".env.dev")));

  s = load(with_env("dev"), env);
  EXPECT_EQ(s.port, 9200);
  EXPECT_EQ(s.host, "10.0.0.3");
  EXPECT_EQ(s.log_level, "error");

  s = load(cli, env);
  EXPECT_EQ(s.port, 9300);
  EXPECT_EQ(s.host, "10.0.0.3");

  s = load({}, env);  // default profile: .env only
  EXPECT_EQ(s.port, 9200);
  EXPECT_EQ(s.log_level, "warning");
  EXPECT_THAT(s.loaded_files, ElementsAre(path(".env")));
}

TEST_F(SettingsTest, CliFlagsOverrideEverything) {
  write(".env", "CONFIG_DIR=/a\nHOST=1.1.1.1\nLOG_LEVEL=info\nWORKERS=3\n");
  CliOptions cli;
  cli.config_dir = "/b";
  cli.host = "2.2.2.2";
  cli.log_level = "trace";
  cli.workers = 1;
  const auto s = load(cli, {{"WORKERS", "5"}});
  EXPECT_EQ(s.config_dir, "/b");
  EXPECT_EQ(s.host, "2.2.2.2");
  EXPECT_EQ(s.log_level, "trace");
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.get("CONFIG_DIR"), "/b");
}

TEST_F(SettingsTest, MissingProfileFileIsAnErrorNamingTheFile) {
  EXPECT_THAT(error(with_env("staging")),
              AllOf(HasSubstr("staging"), HasSubstr(path(".env.staging")), HasSubstr("not found")));
  // The default profile needs no file at all.
  EXPECT_EQ(load(with_env("default")).environment, "default");
}

TEST_F(SettingsTest, ProfileFromTheEnvironmentOrDotEnv) {
  write(".env.prod", "LOG_FORMAT=text\n");
  auto s = load({}, {{"ENVIRONMENT", "prod"}});
  EXPECT_EQ(s.environment, "prod");
  EXPECT_EQ(s.log_format, "text");

  write(".env", "ENVIRONMENT=prod\n");
  s = load();
  EXPECT_EQ(s.environment, "prod");
  EXPECT_EQ(s.log_format, "text");

  // The flag wins over both.
  write(".env.dev", "LOG_FORMAT=json\n");
  s = load(with_env("dev"), {{"ENVIRONMENT", "prod"}});
  EXPECT_EQ(s.environment, "dev");
  EXPECT_EQ(s.get("ENVIRONMENT"), "dev");
  EXPECT_EQ(s.log_format, "json");
}

TEST_F(SettingsTest, InvalidProfileNames) {
  EXPECT_THAT(error(with_env("../x")), HasSubstr("invalid profile name"));
  EXPECT_THAT(error({}, {{"ENVIRONMENT", "a/b"}}), HasSubstr("invalid profile name"));
}

TEST_F(SettingsTest, UnknownKeysInFilesAreWarningsNotErrors) {
  write(".env", "PORT=9000\nPROT=9001\nSOMETHING_ELSE=1\n");
  const auto s = load({}, {{"PATH_LIKE_UNKNOWN", "x"}});
  EXPECT_EQ(s.port, 9000);
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_THAT(s.warnings[0], AllOf(HasSubstr(path(".env") + ":2"), HasSubstr("PROT"),
                                   HasSubstr("did you mean PORT?")));
  EXPECT_THAT(s.warnings[1], AllOf(HasSubstr(":3"), HasSubstr("SOMETHING_ELSE")));
  EXPECT_EQ(s.raw.count("PROT"), 0u);
}

TEST_F(SettingsTest, MalformedValuesNameTheVariableAndSource) {
  const std::string env_file = path(".env");
  struct Case {
    std::string line, variable;
  };
  for (const Case& c :
       std::vector<Case>{{"PORT=abc", "PORT"},
                         {"PORT=70000", "PORT"},
                         {"PORT=0", "PORT"},
                         {"PORT=80.5", "PORT"},
                         {"LOG_FORMAT=xml", "LOG_FORMAT"},
                         {"LOG_LEVEL=loud", "LOG_LEVEL"},
                         {"DEBUG=maybe", "DEBUG"},
                         {"ACCESS_LOG_ENABLED=2", "ACCESS_LOG_ENABLED"},
                         {"WORKERS=-1", "WORKERS"},
                         {"WORKERS=100000", "WORKERS"},
                         {"MAX_HEADERS=1e3", "MAX_HEADERS"},
                         {"HEADER_TIMEOUT_MS=soon", "HEADER_TIMEOUT_MS"},
                         {"HEADER_TIMEOUT_MS=-5", "HEADER_TIMEOUT_MS"},
                         {"HEADER_TIMEOUT_MS=5parsecs", "HEADER_TIMEOUT_MS"},
                         {"TRACING_SAMPLE_RATIO=1.5", "TRACING_SAMPLE_RATIO"},
                         {"TRACING_SAMPLE_RATIO=nan", "TRACING_SAMPLE_RATIO"},
                         {"SERVICE_DISCOVERY_TYPE=zookeeper", "SERVICE_DISCOVERY_TYPE"},
                         {"RATE_LIMIT_BACKEND=memcached", "RATE_LIMIT_BACKEND"}}) {
    write(".env", "# first line\n" + c.line + "\n");
    EXPECT_THAT(error(), AllOf(HasSubstr(c.variable), HasSubstr(env_file + ":2"))) << c.line;
  }
  std::filesystem::remove(env_file);
  EXPECT_THAT(error({}, {{"PORT", "abc"}}), AllOf(HasSubstr("PORT"), HasSubstr("environment")));
  EXPECT_THAT(error({}, {{"LOG_FORMAT", "xml"}}),
              AllOf(HasSubstr("LOG_FORMAT"), HasSubstr("'xml'"), HasSubstr("json, text")));
}

TEST_F(SettingsTest, AMalformedDotenvLineIsAnError) {
  write(".env", "PORT=8001\nthis is not valid\n");
  EXPECT_THAT(error(), HasSubstr(path(".env") + ":2"));
  write(".env", "A=1\n");
  write(".env.dev", "JWT_SECRET_KEY='unterminated secret\n");
  EXPECT_THAT(error(with_env("dev")),
              AllOf(HasSubstr(path(".env.dev") + ":1"), Not(HasSubstr("unterminated secret"))));
}

TEST_F(SettingsTest, BooleanSpellings) {
  for (const auto& [text, value] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                             {"TRUE", true},
                                                                             {"1", true},
                                                                             {"yes", true},
                                                                             {"On", true},
                                                                             {"false", false},
                                                                             {"0", false},
                                                                             {"no", false},
                                                                             {"OFF", false}}) {
    const auto s = load({}, {{"LOG_TO_STDOUT", text}});
    EXPECT_EQ(s.log_to_stdout, value) << text;
    EXPECT_EQ(s.get("LOG_TO_STDOUT"), value ? "true" : "false");
  }
}

TEST_F(SettingsTest, EnumsAreCaseInsensitiveAndCanonical) {
  const auto s = load({}, {{"LOG_LEVEL", "DEBUG"},
                           {"JWT_ALGORITHM", "rs256"},
                           {"LOAD_BALANCER_STRATEGY", "Least_Connections"}});
  EXPECT_EQ(s.log_level, "debug");
  EXPECT_EQ(s.get("JWT_ALGORITHM"), "RS256");
  EXPECT_EQ(s.load_balancer_strategy, "least_connections");
}

TEST_F(SettingsTest, EmptyValues) {
  write(".env", "PORT=9000\nALLOWED_ORIGINS=https://a.example\n");
  // An empty number keeps the lower layer; an empty list or string is a value.
  const auto s = load({}, {{"PORT", ""}, {"ALLOWED_ORIGINS", ""}, {"HOST", ""}});
  EXPECT_EQ(s.port, 9000);
  EXPECT_THAT(s.get_list("ALLOWED_ORIGINS"), IsEmpty());
  EXPECT_EQ(s.host, "");
}

TEST_F(SettingsTest, TypedGetters) {
  write(".env",
        "HEADER_TIMEOUT_MS=2s\nCIRCUIT_BREAKER_TIMEOUT_SECONDS=1.5\nRETRY_BASE_MS=250ms\n"
        "UPSTREAM_IDLE_TIMEOUT_MS=1m\nTRUSTED_PROXIES= 10.0.0.0/8 , ,192.168.0.0/16 \n"
        "TRACING_SAMPLE_RATIO=0.25\nJWT_LEEWAY_SECONDS=45\n");
  const auto s = load();
  EXPECT_EQ(s.header_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.get_int("HEADER_TIMEOUT_MS"), 2000);
  EXPECT_EQ(s.get_duration("CIRCUIT_BREAKER_TIMEOUT_SECONDS"), std::chrono::milliseconds(1500));
  EXPECT_DOUBLE_EQ(s.get_double("CIRCUIT_BREAKER_TIMEOUT_SECONDS"), 1.5);
  EXPECT_EQ(s.get_int("CIRCUIT_BREAKER_TIMEOUT_SECONDS"), 1);
  EXPECT_EQ(s.get_duration("RETRY_BASE_MS"), std::chrono::milliseconds(250));
  EXPECT_EQ(s.upstream_idle_timeout, std::chrono::milliseconds(60'000));
  EXPECT_THAT(s.trusted_proxies, ElementsAre("10.0.0.0/8", "192.168.0.0/16"));
  EXPECT_DOUBLE_EQ(s.get_double("TRACING_SAMPLE_RATIO"), 0.25);
  EXPECT_EQ(s.get_duration("JWT_LEEWAY_SECONDS"), std::chrono::seconds(45));
  EXPECT_EQ(s.get_duration("SHUTDOWN_GRACE_SECONDS"), std::chrono::seconds(15));
  EXPECT_EQ(s.get_duration("JWT_REFRESH_EXPIRATION_DAYS"), std::chrono::hours(24 * 7));
  EXPECT_TRUE(s.get_bool("RATE_LIMIT_ENABLED"));
  EXPECT_THROW(s.get("NO_SUCH_SETTING"), SettingsError);
  EXPECT_THROW(s.get_int("NO_SUCH_SETTING"), SettingsError);
  EXPECT_THROW(s.get_duration("PORT"), SettingsError);
  EXPECT_THROW(s.get_int("HOST"), SettingsError);
  EXPECT_THROW(s.get_bool("HOST"), SettingsError);
}

TEST_F(SettingsTest, GettersRejectHandMadeBadValues) {
  Settings s;
  s.raw["PORT"] = "abc";
  EXPECT_THROW(s.get_int("PORT"), SettingsError);
  s.raw["DEBUG"] = "perhaps";
  EXPECT_THROW(s.get_bool("DEBUG"), SettingsError);
  // Absent from raw: the table default.
  EXPECT_EQ(s.get_int("REDIS_PORT"), 6379);
}

TEST_F(SettingsTest, RedactedHidesSecretsOnly) {
  const auto s = load({}, {{"ADMIN_TOKEN", "tok-123"}, {"MYSQL_PASSWORD", "pw"}});
  const auto r = s.redacted();
  EXPECT_EQ(r.at("ADMIN_TOKEN"), "***");
  EXPECT_EQ(r.at("MYSQL_PASSWORD"), "***");
  EXPECT_EQ(r.at("REDIS_PASSWORD"), "");  // unset stays visibly unset
  EXPECT_EQ(r.at("PORT"), "8001");
  EXPECT_EQ(s.raw.at("ADMIN_TOKEN"), "tok-123");
  EXPECT_EQ(s.admin_token, "tok-123");
  for (const auto& [k, v] : r) EXPECT_THAT(v, Not(HasSubstr("tok-123"))) << k;
}

TEST_F(SettingsTest, CrossChecks) {
  EXPECT_THAT(error({}, {{"TLS_CERT_FILE", "/c.pem"}}), HasSubstr("TLS_KEY_FILE"));
  EXPECT_NO_THROW(load({}, {{"TLS_CERT_FILE", "/c.pem"}, {"TLS_KEY_FILE", "/k.pem"}}));
  EXPECT_THAT(error({}, {{"REDIS_CLUSTER_ENABLED", "true"}}), HasSubstr("REDIS_CLUSTER_NODES"));
  EXPECT_EQ(load({}, {{"CLUSTER_ENABLED", "yes"}}).deployment_mode, "cluster");
  EXPECT_EQ(load({}, {{"CLUSTER_NODE_ID", "gw-7"}}).node_id, "gw-7");
}

TEST_F(SettingsTest, ReadsTheRealProcessEnvironment) {
  ASSERT_EQ(::setenv("MAX_HEADERS", "77", 1), 0);
  Settings s;
  try {
    s = load_settings({}, dir_.path().string());
  } catch (...) {
    ::unsetenv("MAX_HEADERS");
    throw;
  }
  ::unsetenv("MAX_HEADERS");
  EXPECT_EQ(s.max_headers, 77u);
}

TEST_F(SettingsTest, CreateEnvFileNeverOverwrites) {
  EXPECT_TRUE(create_env_file(dir_.path().string(), "dev"));
  EXPECT_EQ(dir_.read_file(".env.dev"), env_profile_text("dev"));
  write(".env.dev", "PORT=1234\n");
  EXPECT_FALSE(create_env_file(dir_.path().string(), "dev"));
  EXPECT_EQ(dir_.read_file(".env.dev"), "PORT=1234\n");

  EXPECT_TRUE(create_env_file(dir_.path().string(), "default"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / ".env"));
  EXPECT_FALSE(create_env_file(dir_.path().string(), "default"));

  EXPECT_TRUE(create_env_file(dir_.path().string(), "staging"));
  EXPECT_THAT(dir_.read_file(".env.staging"), HasSubstr("'staging'"));
  EXPECT_THROW(create_env_file(dir_.path().string(), "../evil"), SettingsError);
  EXPECT_THROW(create_env_file((dir_.path() / "missing-dir").string(), "dev"), SettingsError);
}

TEST_F(SettingsTest, GeneratedProfilesLoadCleanly) {
  for (const std::string env : {"dev", "prod", "staging"}) {
    test::TempDir d{"gatewayd-profile"};
    d.write_file(".env", env_example_text());
    ASSERT_TRUE(create_env_file(d.path().string(), env));
    const auto s = load_settings(with_env(env), d.path().string(), {});
    EXPECT_THAT(s.warnings, IsEmpty()) << env;
    EXPECT_EQ(s.environment, env);
  }
}

TEST_F(SettingsTest, DevProfile) {
  write(".env.dev", env_profile_text("dev"));
  const auto s = load(with_env("dev"));
  EXPECT_EQ(s.port, 8001);
  EXPECT_EQ(s.log_level, "debug");
  EXPECT_TRUE(s.log_to_stdout);
  EXPECT_EQ(s.log_format, "text");
  EXPECT_TRUE(s.access_log_enabled);
  EXPECT_EQ(s.workers, 1u);
  EXPECT_FALSE(s.get_bool("MYSQL_ENABLED"));
  EXPECT_EQ(s.get("RATE_LIMIT_BACKEND"), "local");
  EXPECT_THAT(s.get("JWT_SECRET_KEY"), HasSubstr("dev-only"));
}

TEST_F(SettingsTest, ProdProfileHoldsNoSecrets) {
  write(".env.prod", env_profile_text("prod"));
  const auto s = load(with_env("prod"));
  EXPECT_EQ(s.log_format, "json");
  EXPECT_FALSE(s.debug);
  for (const auto& spec : settings_table()) {
    if (spec.secret) {
      EXPECT_EQ(s.get(std::string(spec.name)), "") << spec.name;
    }
  }
  EXPECT_THAT(s.get_list("ALLOWED_ORIGINS"), IsEmpty());
}

}  // namespace
}  // namespace gatewayd
