// Several replicas of the real binary with the same configuration, sharing only external engines:
// a 3-master Redis Cluster (token buckets, refresh tokens) and a MariaDB (records, rate-limit
// rules). Clients spread their requests round robin over the replicas. The tests show that a
// global limit holds across replicas, that a refresh token moves freely between them (and that a
// reuse detected on any one revokes the family on all), that a replica killed under load costs a
// retrying client nothing, and that the records of every replica land in the one database.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clients/redis_slot.hpp"
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
using Env = std::map<std::string, std::string>;

constexpr int kReplicas = 3;
constexpr const char* kSecret = "cluster-test-hs256-secret-with-enough-entropy-0123456";
constexpr const char* kClientSecret = "cluster-test-internal-client-secret";
constexpr const char* kDatabase = "it_cluster";
constexpr const char* kGlobalRule = "cluster-global";

// /global/** is held by a `global` rule of the rate_limit_rules table (inserted before the
// replicas start); the other routes only by the default per-address limit, set out of reach.
const char* kRoutes = R"(routes:
  - name: global
    path: /global/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
  - name: load
    path: /load/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
  - name: records
    path: /records/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
    rate_limit: 1000000
  - name: private
    path: /private/**
    service: demo
    methods: [GET]
    auth_required: true
    strip_prefix: true
)";

std::string reason_of(const HttpResponse& res) {
  const json j = json::parse(res.body, nullptr, false);
  if (!j.is_object() || !j.contains("error")) return {};
  return j["error"].value("details", json::object()).value("reason", "");
}

// One kept-alive connection per replica, opened again after a transport failure.
class ReplicaConnections {
 public:
  explicit ReplicaConnections(std::vector<std::uint16_t> ports) : ports_(std::move(ports)) {
    conns_.resize(ports_.size());
  }
  HttpResponse request(std::size_t replica, const HttpRequestSpec& spec) {
    auto& c = conns_[replica];
    if (!c || !c->is_open()) c = std::make_unique<HttpConnection>(ports_[replica]);
    return c->request(spec);
  }

 private:
  std::vector<std::uint16_t> ports_;
  std::vector<std::unique_ptr<HttpConnection>> conns_;
};

class ClusterTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (!redis_installed()) return;
    try {
      cluster_ = std::make_unique<RedisCluster>(3);
      db_ = std::make_unique<MariaDbServer>();
      upstreams_[0] = std::make_unique<DemoUpstream>("demo-a");
      upstreams_[1] = std::make_unique<DemoUpstream>("demo-b");
      init_db();
      // A rule of the shared table: every replica reads it at start-up.
      db_->sql(std::string("INSERT INTO rate_limit_rules (rule_name, limit_type, path_pattern, "
                           "max_requests, window_seconds) VALUES ('") +
                   kGlobalRule + "', 'global', '/global/**', 100, 60)",
               kDatabase);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    upstreams_[0].reset();
    upstreams_[1].reset();
    db_.reset();
    cluster_.reset();
  }

 protected:
  void SetUp() override {
    if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  static Env mysql_env() {
    return {{"MYSQL_ENABLED", "true"},
            {"MYSQL_HOST", db_->host()},
            {"MYSQL_PORT", std::to_string(db_->port())},
            {"MYSQL_USER", db_->user()},
            {"MYSQL_PASSWORD", db_->password()},
            {"MYSQL_DATABASE", kDatabase}};
  }

  static void init_db() {
    std::string output;
    const ExitStatus status = run_init_db(mysql_env(), &output);
    if (!status.success()) {
      throw std::runtime_error("gatewayd --init-db: " + status.describe() + ": " + output);
    }
  }

  // The settings every replica shares; only CLUSTER_NODE_ID differs.
  static Env replica_env(int index, const Env& extra) {
    Env env = mysql_env();
    const Env common{
        {"DEPLOYMENT_MODE", "cluster"},
        {"CLUSTER_NAME", "it-cluster"},
        {"CLUSTER_NODE_ID", "gw-" + std::to_string(index)},
        {"REDIS_ENABLED", "true"},
        {"REDIS_CLUSTER_ENABLED", "true"},
        {"REDIS_CLUSTER_NODES", cluster_->nodes_csv()},
        {"RATE_LIMIT_ENABLED", "true"},
        {"RATE_LIMIT_BACKEND", "redis"},
        {"RATE_LIMIT_PER_MINUTE", "1000000"},
        {"RATE_LIMIT_EXPECTED_REPLICAS", "3"},
        // Generous on a loaded machine: no replica may fall back to local buckets here.
        {"RATE_LIMIT_REDIS_TIMEOUT_MS", "2000"},
        {"RATE_LIMIT_RULES_FILE", ""},
        {"RATE_LIMIT_MYSQL_ENABLED", "true"},
        {"RATE_LIMIT_RECORDS_FLUSH_INTERVAL_MS", "1000"},
        {"MYSQL_FLUSH_INTERVAL_MS", "200"},
        {"JWT_SECRET_KEY", kSecret},
        {"JWT_ALGORITHM", "HS256"},
        {"AUTH_TOKEN_CLIENT_SECRET", kClientSecret},
        {"JWT_REFRESH_ROTATION_ENABLED", "true"},
    };
    for (const auto& [k, v] : common) env[k] = v;
    for (const auto& [k, v] : extra) env[k] = v;
    return env;
  }

  static std::string services() {
    return "services:\n  demo:\n    instances:\n      - url: " + upstreams_[0]->url() +
           "\n      - url: " + upstreams_[1]->url() + "\n";
  }

  void start_replicas(const Env& extra = {}) {
    for (int i = 0; i < kReplicas; ++i) {
      replicas_.push_back(std::make_unique<GatewayProcess>(
          GatewayOptions{kRoutes, services(), replica_env(i, extra), 2, true}));
    }
  }

  std::vector<std::uint16_t> ports() const {
    std::vector<std::uint16_t> p;
    for (const auto& r : replicas_) p.push_back(r->port());
    return p;
  }

  GatewayProcess& replica(std::size_t i) { return *replicas_[i]; }

  std::string outputs() const {
    std::string all;
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      all += "---- replica " + std::to_string(i) + "\n" + replicas_[i]->output();
    }
    return all;
  }

  long count(const std::string& query) const { return std::stol("0" + db_->sql(query, kDatabase)); }

  static std::unique_ptr<RedisCluster> cluster_;
  static std::unique_ptr<MariaDbServer> db_;
  static std::array<std::unique_ptr<DemoUpstream>, 2> upstreams_;
  static std::string setup_error_;

  std::vector<std::unique_ptr<GatewayProcess>> replicas_;
};

std::unique_ptr<RedisCluster> ClusterTest::cluster_;
std::unique_ptr<MariaDbServer> ClusterTest::db_;
std::array<std::unique_ptr<DemoUpstream>, 2> ClusterTest::upstreams_;
std::string ClusterTest::setup_error_;

// ---------------------------------------------------------------- 1. one limit for all replicas

TEST_F(ClusterTest, GlobalLimitHoldsAcrossReplicas) {
  start_replicas();
  constexpr int kRequests = 1000;
  constexpr int kClients = 4;
  std::atomic<int> next{0};
  std::array<std::atomic<int>, kReplicas> allowed{}, refused{};
  std::atomic<int> other{0};
  std::mutex mutex;
  HttpResponse last_refused;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      ReplicaConnections conns(ports());
      for (int i = next++; i < kRequests; i = next++) {
        const std::size_t r = static_cast<std::size_t>(i % kReplicas);
        auto res = conns.request(r, request_spec("GET", "/global/hello"));
        if (res.status == 200) {
          ++allowed[r];
        } else if (res.status == 429) {
          ++refused[r];
          const std::lock_guard lock(mutex);
          last_refused = std::move(res);
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  int total_allowed = 0;
  for (int r = 0; r < kReplicas; ++r) {
    total_allowed += allowed[r];
    // Every replica served some and refused some: each enforced the same bucket.
    EXPECT_GT(allowed[r].load(), 0) << "replica " << r;
    EXPECT_GT(refused[r].load(), 0) << "replica " << r;
  }
  EXPECT_EQ(other.load(), 0);
  // One bucket of 100 (the rule's burst) for all three: at least the burst, at most the burst
  // plus what refilled (100 per minute) while the run lasted. Three independent buckets would
  // let 300 through.
  EXPECT_GE(total_allowed, 100);
  EXPECT_LE(total_allowed, 100 + static_cast<int>(seconds * 100.0 / 60.0) + 1)
      << "allowed " << total_allowed << " in " << seconds << " s";
  EXPECT_EQ(last_refused.header("X-RateLimit-Limit"), "100");

  // The bucket lives in the cluster, on the master owning its slot, and no replica fell back to
  // local buckets (which with RATE_LIMIT_EXPECTED_REPLICAS=3 would also add up to about 100).
  const std::string key = ratelimit::RedisBucketScript::key(kGlobalRule, "global");
  const std::size_t owner = cluster_->owner_of(redis_key_slot(key));
  EXPECT_GT(std::stol("0" + cluster_->node(owner).cli({"PTTL", key})), 0) << key;
  for (int r = 0; r < kReplicas; ++r) {
    const std::string metrics = http_get(replica(r).port(), "/metrics").body;
    EXPECT_EQ(metric_value(metrics, "gatewayd_ratelimit_degraded"), 0) << "replica " << r;
  }
  // Each replica counts its own decisions; in rate_limit_records they add up to the whole run.
  long recorded = 0;
  EXPECT_TRUE(eventually([&] {
    recorded = count(std::string("SELECT COALESCE(SUM(request_count), 0) FROM rate_limit_records "
                                 "WHERE route_path = 'rule:") +
                     kGlobalRule + "'");
    return recorded >= kRequests;
  })) << recorded
      << " of " << kRequests << " decisions recorded";
  EXPECT_EQ(recorded, kRequests);
}

// ---------------------------------------------------------------- 2. refresh tokens

TEST_F(ClusterTest, RefreshTokenMovesBetweenReplicasAndReuseRevokesTheFamilyEverywhere) {
  start_replicas();
  const auto refresh_on = [&](std::size_t r, const std::string& token) {
    return http_request(replica(r).port(), request_spec("POST", "/auth/refresh",
                                                        {{"Content-Type", "application/json"}},
                                                        json{{"refresh_token", token}}.dump()));
  };

  // Issued by replica 0.
  auto res = http_request(replica(0).port(),
                          request_spec("POST", "/auth/token",
                                       {{"Authorization", std::string("Bearer ") + kClientSecret},
                                        {"Content-Type", "application/json"}},
                                       json{{"sub", "user-cluster"}}.dump()));
  ASSERT_EQ(res.status, 200u) << res.body;
  const json first = json::parse(res.body);
  const std::string first_refresh = first["refresh_token"];
  // Its access token opens a private route on replica 2 (same key everywhere).
  EXPECT_EQ(http_get(replica(2).port(), "/private/hello",
                     {{"Authorization", "Bearer " + first["access_token"].get<std::string>()}})
                .status,
            200u);

  // Refreshed (and rotated) by replica 1.
  res = refresh_on(1, first_refresh);
  ASSERT_EQ(res.status, 200u) << res.body;
  const json second = json::parse(res.body);
  const std::string second_refresh = second["refresh_token"];
  EXPECT_NE(second_refresh, first_refresh);
  EXPECT_EQ(http_get(replica(0).port(), "/private/hello",
                     {{"Authorization", "Bearer " + second["access_token"].get<std::string>()}})
                .status,
            200u);

  // The rotated token presented to replica 2: a reuse, which revokes the family.
  res = refresh_on(2, first_refresh);
  EXPECT_EQ(res.status, 401u) << res.body;
  EXPECT_EQ(reason_of(res), "REFRESH_TOKEN_REUSED") << res.body;

  // Every replica now refuses the newest token of the family too.
  for (std::size_t r = 0; r < kReplicas; ++r) {
    res = refresh_on(r, second_refresh);
    EXPECT_EQ(res.status, 401u) << "replica " << r << ": " << res.body;
    EXPECT_EQ(reason_of(res), "REFRESH_TOKEN_REVOKED") << "replica " << r << ": " << res.body;
  }

  // The reuse is audited by the replica that saw it.
  EXPECT_TRUE(eventually([&] {
    return count(
               "SELECT COUNT(*) FROM audit_logs WHERE event_type = 'refresh_token_reuse' AND "
               "node_id = 'gw-2'") >= 1;
  })) << outputs();
}

// ---------------------------------------------------------------- 3. a replica killed under load

TEST_F(ClusterTest, ReplicaKilledUnderLoadLosesNoRetriedRequest) {
  start_replicas();
  constexpr int kRequests = 1500;
  constexpr int kClients = 6;
  constexpr std::size_t kVictim = 1;
  std::atomic<int> next{0}, completed{0}, ok{0}, other{0}, gave_up{0}, cut{0};
  std::array<std::atomic<int>, kReplicas> connection_failures{}, served{};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      ReplicaConnections conns(ports());
      for (int i = next++; i < kRequests; i = next++) {
        // Round robin; on a connection-level failure the same GET goes to the next replica.
        bool done = false;
        for (int attempt = 0; attempt < 2 * kReplicas && !done; ++attempt) {
          const std::size_t r = static_cast<std::size_t>((i + attempt) % kReplicas);
          // A short upstream delay keeps requests in flight when the replica dies.
          const auto res = conns.request(r, request_spec("GET", "/load/delay/2"));
          if (res.status == 0) {
            ++connection_failures[r];
            // "not connected": the connect was refused; anything else cut an open connection.
            if (res.error != "not connected") ++cut;
            continue;
          }
          done = true;
          ++served[r];
          if (res.status == 200) {
            ++ok;
          } else {
            ++other;
          }
        }
        if (!done) ++gave_up;
        ++completed;
      }
    });
  }
  // Kill once a third of the run is done, with every client busy.
  const bool under_way = eventually([&] { return completed.load() >= kRequests / 3; }, 60s, 5ms);
  replica(kVictim).process().kill();
  for (auto& t : clients) t.join();
  ASSERT_TRUE(under_way);

  std::cout << "[ cluster  ] killed replica " << kVictim << " after " << kRequests / 3
            << " requests; served " << served[0] << "/" << served[1] << "/" << served[2]
            << ", connection failures " << connection_failures[0] << "/" << connection_failures[1]
            << "/" << connection_failures[2] << " (" << cut << " on open connections)\n";
  EXPECT_EQ(ok.load(), kRequests) << "every request eventually answered 200";
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(gave_up.load(), 0);
  // Connection-level failures only at the killed replica, and at least one there (every request
  // whose turn it was after the kill).
  for (std::size_t r = 0; r < kReplicas; ++r) {
    if (r == kVictim) {
      EXPECT_GT(connection_failures[r].load(), 0);
    } else {
      EXPECT_EQ(connection_failures[r].load(), 0) << "replica " << r;
    }
  }
  // Each replica served its share before the kill; the survivors took over the rest.
  for (std::size_t r = 0; r < kReplicas; ++r) EXPECT_GT(served[r].load(), 0) << "replica " << r;
  EXPECT_GT(served[0].load() + served[2].load(), 2 * kRequests / 3);
  for (std::size_t r = 0; r < kReplicas; ++r) {
    if (r != kVictim) {
      EXPECT_EQ(http_get(replica(r).port(), "/ready").status, 200u) << "replica " << r;
    }
  }
}

// ---------------------------------------------------------------- 4. records in MariaDB

TEST_F(ClusterTest, RecordsOfAllReplicasLandInOneDatabase) {
  // With ten minutes and an hour between flushes, only the flush at SIGTERM can write the rows.
  start_replicas(
      {{"MYSQL_FLUSH_INTERVAL_MS", "600000"}, {"RATE_LIMIT_RECORDS_FLUSH_INTERVAL_MS", "3600000"}});
  for (std::size_t r = 0; r < kReplicas; ++r) {
    const json health = json::parse(http_get(replica(r).port(), "/health").body, nullptr, false);
    EXPECT_EQ(health.value("node_id", ""), "gw-" + std::to_string(r));
  }
  constexpr int kRequests = 90;
  const std::string tag = "cl-rec-" + std::to_string(::getpid());
  {
    ReplicaConnections conns(ports());
    for (int i = 0; i < kRequests; ++i) {
      const std::size_t r = static_cast<std::size_t>(i % kReplicas);
      const std::string id = tag + "-r" + std::to_string(r) + "-" + std::to_string(i);
      const auto res =
          conns.request(r, request_spec("GET", "/records/hello", {{"X-Request-Id", id}}));
      ASSERT_EQ(res.status, 200u) << res.error << res.body;
      EXPECT_EQ(res.header("X-Request-Id"), id);
    }
  }
  const std::string ours = "request_id LIKE '" + tag + "-%'";
  const std::string records_sql =
      "SELECT COALESCE(SUM(request_count), 0) FROM rate_limit_records WHERE route_path = "
      "'/records/**' AND identifier = 'ip:127.0.0.1' AND window_type = 'minute'";
  EXPECT_EQ(count("SELECT COUNT(*) FROM gateway_logs WHERE " + ours), 0);
  EXPECT_EQ(count(records_sql), 0);

  for (std::size_t r = 0; r < kReplicas; ++r) {
    const ExitStatus s = replica(r).stop();
    EXPECT_TRUE(s.success()) << "replica " << r << ": " << s.describe() << "\n"
                             << replica(r).output();
  }

  // Every request has its row, written by the replica that served it.
  EXPECT_EQ(count("SELECT COUNT(*) FROM gateway_logs WHERE " + ours), kRequests) << outputs();
  for (std::size_t r = 0; r < kReplicas; ++r) {
    const std::string node = "gw-" + std::to_string(r);
    EXPECT_EQ(count("SELECT COUNT(*) FROM gateway_logs WHERE request_id LIKE '" + tag + "-r" +
                    std::to_string(r) + "-%' AND node_id = '" + node +
                    "' AND status_code = 200 AND route = 'records'"),
              kRequests / kReplicas)
        << node;
  }
  // The three replicas' counts of the same window add up in one row set.
  EXPECT_EQ(count(records_sql), kRequests);
}

}  // namespace
}  // namespace gatewayd::test
