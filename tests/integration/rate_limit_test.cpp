// Rate limiting through the real binary: three gateways sharing one limit in a local 3-master
// Redis Cluster, rate_limit_records in a real mariadbd (periodic flush and shutdown flush), rules
// from the rules file (with reloads), per-key limits of API keys, and every Redis failure mode
// with Redis stopped and restarted under a running gateway.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clients/redis_slot.hpp"
#include "filters/auth/api_key_store.hpp"
#include "filters/rate_limit/rate_limit_settings.hpp"
#include "filters/rate_limit/redis_bucket_script.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/mariadb_server.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSecret = "rate-limit-test-hs256-secret-with-enough-entropy-0123";

std::string services_for(const DemoUpstream& up) {
  return "services:\n  demo:\n    instances:\n      - url: " + up.url() + "\n";
}

const char* kRoutes = R"(routes:
  - name: shared
    path: /shared/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
    rate_limit: 100
  - name: limited
    path: /limited/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
    rate_limit: 10
  - name: probe
    path: /probe/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
    rate_limit: 1000000
  - name: ruled
    path: /ruled/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
  - name: keyed
    path: /keyed/**
    service: demo
    methods: [GET]
    auth_required: true
    strip_prefix: true
    auth:
      methods: [api_key]
)";

double degraded_gauge(const GatewayProcess& gateway) {
  return metric_value(http_get(gateway.port(), "/metrics").body, "gatewayd_ratelimit_degraded");
}

// The rate_limit check of /ready and the overall status code.
std::pair<unsigned, std::string> ready_rate_limit(const GatewayProcess& gateway) {
  const auto res = http_get(gateway.port(), "/ready");
  try {
    return {res.status, json::parse(res.body).at("checks").value("rate_limit", "")};
  } catch (const std::exception&) {
    return {res.status, "unparsable: " + res.body};
  }
}

HttpRequestSpec get(const std::string& target, Headers headers = {}) {
  HttpRequestSpec spec;
  spec.method = "GET";
  spec.target = target;
  spec.headers = std::move(headers);
  return spec;
}

struct Tally {
  int allowed = 0;
  int refused = 0;
  int other = 0;
  HttpResponse last_refused;
};

// Sends `n` GETs of `target` on one connection and counts 200 / 429 / anything else.
Tally send(std::uint16_t port, const std::string& target, int n, Headers headers = {}) {
  Tally t;
  HttpConnection conn(port);
  for (int i = 0; i < n; ++i) {
    auto res = conn.request(get(target, headers));
    if (res.status == 200) {
      ++t.allowed;
    } else if (res.status == 429) {
      ++t.refused;
      t.last_refused = std::move(res);
    } else {
      ++t.other;
      ADD_FAILURE() << target << ": " << res.status << " " << res.error << " " << res.body;
    }
  }
  return t;
}

std::string error_code(const HttpResponse& res) {
  try {
    return json::parse(res.body)["error"].value("code", "");
  } catch (const std::exception&) {
    return {};
  }
}

std::map<std::string, std::string> limit_env(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env{{"RATE_LIMIT_ENABLED", "true"},
                                         {"RATE_LIMIT_PER_MINUTE", "100000"},
                                         {"JWT_SECRET_KEY", kSecret},
                                         {"JWT_ALGORITHM", "HS256"},
                                         {"REDIS_ENABLED", "false"},
                                         // Rules come from the files the tests name.
                                         {"RATE_LIMIT_RULES_FILE", ""}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

// Runs a one-shot `gatewayd <args>` in `dir` (no stray .env from the test's directory) and
// returns its exit status, with stdout + stderr in `output`.
ExitStatus run_gatewayd(const TempDir& dir, std::vector<std::string> args,
                        const std::map<std::string, std::string>& env, std::string* output) {
  ProcessOptions o;
  o.argv = {gatewayd_binary()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.working_dir = dir.path();
  o.stdout_path = dir / "output.log";
  o.stderr_path = o.stdout_path;
  for (const auto& [k, v] : env) o.env.push_back(k + "=" + v);
  std::filesystem::remove(o.stdout_path);
  Process p = Process::spawn(o);
  auto status = p.wait_for(120s);
  if (!status) status = p.kill();
  *output = dir.read_file("output.log");
  return *status;
}

class RateLimitTest : public ::testing::Test {
 protected:
  DemoUpstream upstream{"demo"};
};

// ---------------------------------------------------------------- Redis Cluster, 3 gateways

TEST_F(RateLimitTest, ThreeGatewaysShareOneLimitInARedisCluster) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  RedisCluster cluster(3);
  const auto env = limit_env({{"RATE_LIMIT_BACKEND", "redis"},
                              {"REDIS_ENABLED", "true"},
                              {"REDIS_CLUSTER_ENABLED", "true"},
                              {"REDIS_CLUSTER_NODES", cluster.nodes_csv()},
                              // Generous on a loaded machine: this is not a failure-mode test.
                              {"RATE_LIMIT_REDIS_TIMEOUT_MS", "2000"}});
  std::vector<std::unique_ptr<GatewayProcess>> gateways;
  for (int i = 0; i < 3; ++i) {
    gateways.push_back(std::make_unique<GatewayProcess>(
        GatewayOptions{kRoutes, services_for(upstream), env, 2, true}));
  }
  constexpr int kRequests = 1000;
  std::atomic<int> allowed{0}, refused{0}, other{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int g = 0; g < 3; ++g) {
    clients.emplace_back([&, g] {
      HttpConnection conn(gateways[g]->port());
      for (int i = g; i < kRequests; i += 3) {
        const auto res = conn.request(get("/shared/hello"));
        if (res.status == 200) {
          ++allowed;
        } else if (res.status == 429) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(allowed.load() + refused.load(), kRequests);
  // One bucket of 100 (the route's burst) shared by the three: at least the burst, at most the
  // burst plus what refilled (100 per minute) while the run lasted.
  EXPECT_GE(allowed.load(), 100);
  EXPECT_LE(allowed.load(), 100 + static_cast<int>(seconds * 100.0 / 60.0) + 1)
      << "allowed " << allowed.load() << " in " << seconds << " s";

  // The bucket lives on the master that owns its slot, and no gateway fell back.
  const std::string key = ratelimit::RedisBucketScript::key("shared", "ip:127.0.0.1");
  const std::size_t owner = cluster.owner_of(redis_key_slot(key));
  const long ttl = std::stol("0" + cluster.node(owner).cli({"PTTL", key}));
  EXPECT_GT(ttl, 0) << key << " on node " << owner;
  for (const auto& g : gateways) {
    const std::string metrics = http_get(g->port(), "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "gatewayd_ratelimit_degraded"), 0);
  }
}

// ---------------------------------------------------------------- failure modes

class FailureModeTest : public RateLimitTest,
                        public ::testing::WithParamInterface<ratelimit::FailureMode> {};

TEST_P(FailureModeTest, RedisStoppedThenRestartedUnderARunningGateway) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  const auto mode = GetParam();
  RedisServer redis;
  GatewayProcess gateway{{kRoutes, services_for(upstream),
                          limit_env({{"RATE_LIMIT_BACKEND", "redis"},
                                     {"RATE_LIMIT_REDIS_FAILURE_MODE",
                                      std::string(ratelimit::failure_mode_name(mode))},
                                     {"RATE_LIMIT_EXPECTED_REPLICAS", "2"},
                                     {"REDIS_ENABLED", "true"},
                                     {"REDIS_HOST", redis.host()},
                                     {"REDIS_PORT", std::to_string(redis.port())}}),
                          1, true}};
  ASSERT_EQ(http_get(gateway.port(), "/probe/x").status, 200u);
  EXPECT_EQ(ready_rate_limit(gateway).second, "ok");

  redis.stop();
  const Tally down = send(gateway.port(), "/limited/x", 12);
  EXPECT_EQ(down.other, 0);
  switch (mode) {
    case ratelimit::FailureMode::kLocal:
      // 10 per minute shared by 2 expected replicas: a local bucket of 5 (a sixth token may
      // have refilled on a slow machine).
      EXPECT_GE(down.allowed, 5);
      EXPECT_LE(down.allowed, 6);
      EXPECT_EQ(down.last_refused.header("X-RateLimit-Limit"), "5");
      break;
    case ratelimit::FailureMode::kOpen:
      EXPECT_EQ(down.allowed, 12);
      break;
    case ratelimit::FailureMode::kClosed:
      EXPECT_EQ(down.refused, 12);
      EXPECT_EQ(down.last_refused.header("Retry-After"), "1");
      EXPECT_EQ(error_code(down.last_refused), "RATE_LIMITED");
      break;
  }
  EXPECT_EQ(degraded_gauge(gateway), 1);
  const auto [ready_status, ready_text] = ready_rate_limit(gateway);
  EXPECT_EQ(ready_status, 200u) << "degraded, still ready";
  const char* expected_text = mode == ratelimit::FailureMode::kLocal  ? "local fallback"
                              : mode == ratelimit::FailureMode::kOpen ? "failing open"
                                                                      : "failing closed";
  EXPECT_NE(ready_text.find(expected_text), std::string::npos) << ready_text;

  redis.start();  // empty: the restart lost every bucket
  // Shared limiting resumes without a gateway restart; requests on another route drive the
  // probe that ends the degraded state.
  const bool recovered = eventually(
      [&] {
        http_get(gateway.port(), "/probe/x");
        return degraded_gauge(gateway) == 0;
      },
      30s);
  ASSERT_TRUE(recovered) << gateway.output();
  EXPECT_EQ(ready_rate_limit(gateway).second, "ok");
  const Tally up = send(gateway.port(), "/limited/x", 14);
  EXPECT_GE(up.allowed, 10);  // the full limit again, decided in Redis
  EXPECT_LE(up.allowed, 11);
  EXPECT_EQ(up.last_refused.header("X-RateLimit-Limit"), "10");
  const std::string key = ratelimit::RedisBucketScript::key("limited", "ip:127.0.0.1");
  EXPECT_GT(std::stol("0" + redis.cli({"PTTL", key})), 0) << key;
}

INSTANTIATE_TEST_SUITE_P(Modes, FailureModeTest,
                         ::testing::Values(ratelimit::FailureMode::kLocal,
                                           ratelimit::FailureMode::kOpen,
                                           ratelimit::FailureMode::kClosed),
                         [](const auto& info) {
                           return std::string(ratelimit::failure_mode_name(info.param));
                         });

// ---------------------------------------------------------------- rules file and API keys

TEST_F(RateLimitTest, RulesFileAndPerKeyLimitsThroughTheBinary) {
  TempDir files("gatewayd-rl-files");
  const auto rules_path = files.write_file("rate_limits.yaml", R"(rules:
  - rule_name: ruled-per-ip
    limit_type: per_ip
    path_pattern: /ruled/**
    max_requests: 3
    window_seconds: 3600
)");
  const auto limited_key = auth::generate_api_key();
  const auto free_key = auth::generate_api_key();
  const auto keys_path = files.write_file("api_keys.yaml",
                                          "api_keys:\n"
                                          "  - key_hash: \"sha256:" +
                                              limited_key.hash_hex +
                                              "\"\n"
                                              "    user_id: partner\n"
                                              "    name: limited\n"
                                              "    rate_limit_per_minute: 4\n"
                                              "  - key_hash: \"sha256:" +
                                              free_key.hash_hex +
                                              "\"\n"
                                              "    user_id: partner\n"
                                              "    name: free\n");
  GatewayProcess gateway{{kRoutes, services_for(upstream),
                          limit_env({{"RATE_LIMIT_RULES_FILE", rules_path.string()},
                                     {"API_KEYS_FILE", keys_path.string()}}),
                          2, true}};

  // The file rule: 3 per hour per client address on /ruled/** (no refill during the test).
  Tally ruled = send(gateway.port(), "/ruled/a", 6);
  EXPECT_EQ(ruled.allowed, 3);
  EXPECT_EQ(ruled.refused, 3);
  EXPECT_EQ(ruled.last_refused.header("X-RateLimit-Limit"), "3");
  EXPECT_EQ(error_code(ruled.last_refused), "RATE_LIMITED");

  // The key's own limit: 4 per minute for that key; the other key of the same owner, from the
  // same address, is not held by it.
  const Tally limited = send(gateway.port(), "/keyed/a", 7, {{"X-API-Key", limited_key.key}});
  EXPECT_EQ(limited.allowed, 4);
  EXPECT_EQ(limited.refused, 3);
  EXPECT_EQ(limited.last_refused.header("X-RateLimit-Limit"), "4");
  EXPECT_FALSE(limited.last_refused.header("Retry-After").empty());
  const Tally free = send(gateway.port(), "/keyed/a", 7, {{"X-API-Key", free_key.key}});
  EXPECT_EQ(free.allowed, 7);
  // A key that matches nothing never reaches a bucket: 401, whatever its value.
  EXPECT_EQ(http_get(gateway.port(), "/keyed/a", {{"X-API-Key", limited_key.key + "x"}}).status,
            401u);
  const std::string metrics = http_get(gateway.port(), "/metrics").body;
  EXPECT_NE(metrics.find("rule=\"api_key_per_minute\""), std::string::npos);
  EXPECT_NE(metrics.find("rule=\"ruled-per-ip\""), std::string::npos);

  // A changed file is picked up by a reload; the rule keeps its bucket (same name).
  files.write_file("rate_limits.yaml", R"(rules:
  - rule_name: ruled-per-ip
    limit_type: per_ip
    path_pattern: /ruled/**
    max_requests: 3
    window_seconds: 3600
  - rule_name: probe-global
    limit_type: global
    path_pattern: /probe/**
    max_requests: 2
    window_seconds: 3600
)");
  HttpRequestSpec reload;
  reload.method = "POST";
  reload.target = "/admin/reload";
  reload.headers = {{"Authorization", std::string("Bearer ") + GatewayProcess::kAdminToken}};
  auto res = http_request(gateway.admin_port(), reload);
  ASSERT_EQ(res.status, 200u) << res.body;
  const Tally probe = send(gateway.port(), "/probe/a", 4);
  EXPECT_EQ(probe.allowed, 2);
  EXPECT_EQ(send(gateway.port(), "/ruled/a", 1).refused, 1);

  // SIGHUP reloads it too.
  files.write_file("rate_limits.yaml", R"(rules:
  - rule_name: ruled-per-ip
    limit_type: per_ip
    path_pattern: /ruled/**
    max_requests: 3
    window_seconds: 3600
)");
  ASSERT_TRUE(gateway.process().signal(SIGHUP));
  EXPECT_TRUE(eventually([&] { return http_get(gateway.port(), "/probe/a").status == 200; }, 30s))
      << "the probe-global rule is still applied after SIGHUP";

  // An invalid file is refused with the file, entry and field named; the rules stay.
  files.write_file("rate_limits.yaml", R"(rules:
  - rule_name: ruled-per-ip
    limit_type: per_ip
    path_pattern: /ruled/**
    max_requests: 0
)");
  res = http_request(gateway.admin_port(), reload);
  EXPECT_EQ(res.status, 400u) << res.body;
  EXPECT_NE(res.body.find("rate_limits.yaml rules[0]"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("max_requests"), std::string::npos) << res.body;
  EXPECT_EQ(send(gateway.port(), "/ruled/a", 1).refused, 1);
  EXPECT_EQ(http_get(gateway.port(), "/probe/a").status, 200u);
}

TEST_F(RateLimitTest, CheckConfigValidatesTheRulesFile) {
  TempDir dir("gatewayd-rl-check");
  dir.write_file("config/routes.yaml", kRoutes);
  dir.write_file("config/services.yaml", services_for(upstream));
  auto check = [&](std::string* output) {
    return run_gatewayd(dir, {"--check-config", "--config-dir", (dir / "config").string()},
                        {{"JWT_SECRET_KEY", kSecret}}, output);
  };
  std::string out;
  EXPECT_TRUE(check(&out).success()) << out;  // no rules file: fine

  dir.write_file("config/rate_limits.yaml",
                 "rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 5}\n");
  EXPECT_TRUE(check(&out).success()) << out;
  EXPECT_NE(out.find("1 rate-limit rules in the file, 1 active"), std::string::npos) << out;

  dir.write_file("config/rate_limits.yaml",
                 "rules:\n  - {rule_name: a, limit_type: per_ip, max_requests: 5}\n"
                 "  - {rule_name: b, limit_type: per_moon, max_requests: 5}\n");
  const ExitStatus bad = check(&out);
  EXPECT_FALSE(bad.success()) << out;
  EXPECT_NE(out.find("rate_limits.yaml rules[1] (line 3): limit_type"), std::string::npos) << out;
}

// ---------------------------------------------------------------- leases at shutdown

// A worker leases tokens of a busy Redis bucket ahead of need; SIGTERM gives back what it did
// not spend, so the shared bucket lacks exactly the spent tokens after the gateway is gone. The
// rule's bucket holds 100,000 tokens and refills one a day: what Redis holds is what the
// gateway took (leases at 1 % are up to 1,000 tokens per worker). With Redis paused (accepting,
// never answering) the return cannot happen, and the gateway still exits at once.
TEST_F(RateLimitTest, SigtermGivesLeasedTokensBackToRedis) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  TempDir files("gatewayd-rl-lease");
  const auto rules_path = files.write_file("rate_limits.yaml", R"(rules:
  - rule_name: slow-global
    limit_type: global
    path_pattern: /ruled/**
    max_requests: 1
    window_seconds: 86400
    burst: 100000
)");
  constexpr double kCapacity = 100'000;
  const std::string key = ratelimit::RedisBucketScript::key("slow-global", "global");
  for (const bool paused : {false, true}) {
    SCOPED_TRACE(paused ? "redis paused at SIGTERM" : "redis up at SIGTERM");
    RedisServer redis;
    GatewayProcess gateway{{kRoutes, services_for(upstream),
                            limit_env({{"RATE_LIMIT_BACKEND", "redis"},
                                       {"REDIS_ENABLED", "true"},
                                       {"REDIS_HOST", redis.host()},
                                       {"REDIS_PORT", std::to_string(redis.port())},
                                       {"RATE_LIMIT_RULES_FILE", rules_path.string()},
                                       // Generous: not a failure-mode test.
                                       {"RATE_LIMIT_REDIS_TIMEOUT_MS", "1000"}}),
                            2, true}};
    // Four clients, each on its own connection, keep both workers busy.
    constexpr int kClients = 4;
    constexpr int kPerClient = 750;
    std::vector<Tally> tallies(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] { tallies[c] = send(gateway.port(), "/ruled/x", kPerClient); });
    }
    for (auto& c : clients) c.join();
    int allowed = 0;
    for (const auto& t : tallies) {
      allowed += t.allowed;
      EXPECT_EQ(t.refused, 0);
    }
    ASSERT_EQ(allowed, kClients * kPerClient);
    // What the workers still hold (unless a lease expired and went back already).
    const double before = std::stod("0" + redis.cli({"HGET", key, "tokens"}));
    const double held = kCapacity - allowed - before;

    if (paused) redis.pause();
    const ExitStatus status = gateway.stop();
    if (paused) redis.resume();
    EXPECT_TRUE(status.success()) << status.describe() << "\n" << gateway.output();
    if (paused) continue;
    const double after = std::stod("0" + redis.cli({"HGET", key, "tokens"}));
    EXPECT_NEAR(after, kCapacity - allowed, 0.5)
        << "held by the workers at SIGTERM: " << held << "\n"
        << gateway.output();
  }
}

// ---------------------------------------------------------------- records in MariaDB

class RateLimitRecordsTest : public RateLimitTest {
 public:
  static void SetUpTestSuite() { db_ = std::make_unique<MariaDbServer>(); }
  static void TearDownTestSuite() { db_.reset(); }

 protected:
  std::map<std::string, std::string> mysql_env(const std::string& flush_ms) const {
    return limit_env({{"MYSQL_ENABLED", "true"},
                      {"MYSQL_HOST", db_->host()},
                      {"MYSQL_PORT", std::to_string(db_->port())},
                      {"MYSQL_USER", db_->user()},
                      {"MYSQL_PASSWORD", db_->password()},
                      {"MYSQL_DATABASE", kDatabase},
                      {"MYSQL_FLUSH_INTERVAL_MS", "100"},
                      {"RATE_LIMIT_MYSQL_ENABLED", "true"},
                      {"RATE_LIMIT_RECORDS_FLUSH_INTERVAL_MS", flush_ms}});
  }

  void init_db() const {
    TempDir dir("gatewayd-rl-initdb");
    std::string out;
    const ExitStatus s = run_gatewayd(dir, {"--init-db"}, mysql_env("10000"), &out);
    ASSERT_TRUE(s.success()) << s.describe() << ": " << out;
  }

  // SUM(request_count) of the rows of `route_path` (0 when there are none).
  long counted(const std::string& route_path) const {
    const std::string out = db_->sql(
        "SELECT COALESCE(SUM(request_count), 0) FROM rate_limit_records WHERE route_path = '" +
            route_path + "' AND identifier = 'ip:127.0.0.1' AND window_type = 'minute'",
        kDatabase);
    return std::stol("0" + out);
  }

  static constexpr const char* kDatabase = "it_rate_limit_records";
  static std::unique_ptr<MariaDbServer> db_;
};
std::unique_ptr<MariaDbServer> RateLimitRecordsTest::db_;

TEST_F(RateLimitRecordsTest, RecordsReachTheTableAfterARunAndAtShutdown) {
  init_db();
  if (HasFatalFailure()) return;

  // Periodic flush: every decision of the run is counted, allowed or refused.
  GatewayProcess periodic{{kRoutes, services_for(upstream), mysql_env("200"), 2, true}};
  const Tally run = send(periodic.port(), "/limited/x", 25);
  EXPECT_GE(run.allowed, 10);
  EXPECT_LE(run.allowed, 11);  // a token refills every 6 s
  long seen = 0;
  EXPECT_TRUE(eventually([&] { return (seen = counted("/limited/**")) >= 25; }, 60s, 200ms))
      << seen << " of 25 counted; gateway output:\n"
      << periodic.output();
  EXPECT_EQ(counted("/limited/**"), 25);
  EXPECT_TRUE(periodic.stop().success());

  // Shutdown flush: with an hour between flushes, only the one at SIGTERM can write the rows.
  GatewayProcess at_shutdown{{kRoutes, services_for(upstream), mysql_env("3600000"), 2, true}};
  const Tally second = send(at_shutdown.port(), "/shared/x", 7);
  EXPECT_EQ(second.allowed, 7);
  EXPECT_EQ(counted("/shared/**"), 0);
  const ExitStatus stopped = at_shutdown.stop();
  EXPECT_TRUE(stopped.success()) << stopped.describe() << at_shutdown.output();
  EXPECT_EQ(counted("/shared/**"), 7) << at_shutdown.output();
}

}  // namespace
}  // namespace gatewayd::test
