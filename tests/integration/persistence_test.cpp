// The durable-record pipeline through the real binary: every proxied request leaves exactly one
// gateway_logs row in a real mariadbd, also when the database goes away under load, and when the
// gateway is killed while its records sit in the spool.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/mariadb_server.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// How long the database stays down in the outage test: the 30 s of the acceptance criterion. The
// test spends that time mostly asleep (a paced client, a stopped server), so it costs wall time
// rather than CPU. GATEWAYD_IT_DB_OUTAGE_SECONDS shortens it for quick local runs; nothing in the
// pipeline changes behaviour with the length (every batch is spooled and the reconnect backoff
// grows either way), only the spool gets longer.
std::chrono::seconds outage_length() {
  if (const char* v = std::getenv("GATEWAYD_IT_DB_OUTAGE_SECONDS"); v != nullptr && *v != '\0') {
    return std::chrono::seconds(std::max(1, std::atoi(v)));
  }
  return 30s;
}

std::string services_for(const DemoUpstream& upstream) {
  return "services:\n  demo:\n    instances:\n      - url: " + upstream.url() + "\n";
}

const char* kRoutes = R"(routes:
  - name: demo-api
    path: /demo/**
    service: demo
    methods: [GET, POST]
    auth_required: false
    strip_prefix: true
    timeout: 5
)";

double gateway_metric(const GatewayProcess& gateway, std::string_view name) {
  return metric_value(http_get(gateway.port(), "/metrics").body, name);
}

// One gateway_logs row as the mariadb client prints it (tab-separated).
struct LogRow {
  std::string request_id, method, path, route, service, status;
};

// Sends requests on one kept-alive connection from a background thread until stopped, and keeps
// the request id the gateway answered with for every response.
class LoadClient {
 public:
  explicit LoadClient(std::uint16_t port) : port_(port) {
    thread_ = std::thread([this] { run(); });
  }
  ~LoadClient() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::size_t sent() const { return sent_.load(); }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mutex_);
    return ids_;
  }
  // Responses other than 200, and requests without an answer (the gateway must keep serving
  // while the database is away).
  std::vector<std::string> failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  void run() {
    std::unique_ptr<HttpConnection> conn;
    for (std::size_t i = 0; !stop_.load(); ++i) {
      if (!conn || !conn->is_open()) conn = std::make_unique<HttpConnection>(port_);
      HttpRequestSpec spec;
      spec.target = "/demo/load/" + std::to_string(i);
      HttpResponse res = conn->request(spec);
      {
        std::lock_guard lock(mutex_);
        if (res.status == 200) {
          ids_.push_back(res.header("X-Request-Id"));
        } else {
          failures_.push_back(spec.target + ": " + std::to_string(res.status) + " " + res.error);
        }
      }
      ++sent_;
      if (!res.keep_alive) conn.reset();
      // Steady, not flat-out: a few hundred requests a second leaves the two CI cores to the
      // gateway's writer and the database, and keeps the row count of a long outage modest.
      std::this_thread::sleep_for(2ms);
    }
  }

  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> sent_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> ids_;
  std::vector<std::string> failures_;
  std::thread thread_;
};

// Sends `n` proxied GETs on one connection and appends the ids the gateway answered with.
void send_requests(const GatewayProcess& gateway, int n, const std::string& prefix,
                   std::vector<std::string>& ids) {
  HttpConnection conn(gateway.port());
  for (int i = 0; i < n; ++i) {
    HttpRequestSpec spec;
    spec.target = "/demo/" + prefix + "/" + std::to_string(i);
    const HttpResponse res = conn.request(spec);
    ASSERT_EQ(res.status, 200u) << res.error;
    ids.push_back(res.header("X-Request-Id"));
  }
}

// One mariadbd for the suite (its start-up is the slow part); every test gets its own database,
// created by `gatewayd --init-db`.
class PersistenceTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() { db_ = std::make_unique<MariaDbServer>(); }
  static void TearDownTestSuite() { db_.reset(); }

 protected:
  void SetUp() override {
    // A fault test that failed half-way may have left the server stopped.
    if (!db_->running()) db_->start();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    database_ = "it_" + std::string(info->name()).substr(0, 50);
    for (char& ch : database_) {
      if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
    }
  }

  std::map<std::string, std::string> mysql_env() const {
    return {
        {"MYSQL_ENABLED", "true"},
        {"MYSQL_HOST", db_->host()},
        {"MYSQL_PORT", std::to_string(db_->port())},
        {"MYSQL_USER", db_->user()},
        {"MYSQL_PASSWORD", db_->password()},
        {"MYSQL_DATABASE", database_},
        // Short intervals keep the waits of the test short; the batch is smaller than the
        // default so that an outage spreads over several spool appends and replay batches.
        {"MYSQL_FLUSH_INTERVAL_MS", "100"},
        {"MYSQL_BATCH_SIZE", "100"},
        {"MYSQL_CONNECT_TIMEOUT_MS", "1000"},
    };
  }

  // Runs `gatewayd --init-db` in an empty directory (no stray .env) with the test's settings.
  ExitStatus init_db(std::string* output) const { return run_init_db(mysql_env(), output); }

  void create_schema() {
    std::string out;
    const ExitStatus s = init_db(&out);
    ASSERT_TRUE(s.success()) << s.describe() << ": " << out;
  }

  GatewayOptions gateway_options(const DemoUpstream& upstream, unsigned workers = 2) const {
    GatewayOptions o;
    o.routes_yaml = kRoutes;
    o.services_yaml = services_for(upstream);
    o.env = mysql_env();
    o.workers = workers;
    return o;
  }

  std::string sql(const std::string& statements) const { return db_->sql(statements, database_); }

  long row_count() const { return std::stol("0" + sql("SELECT COUNT(*) FROM gateway_logs")); }

  std::vector<LogRow> log_rows() const {
    const std::string out =
        sql("SELECT request_id, method, path, route, target_service, status_code FROM gateway_logs "
            "ORDER BY id");
    std::vector<LogRow> rows;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::size_t start = 0;
      while (true) {
        const auto tab = line.find('\t', start);
        f.push_back(line.substr(start, tab - start));
        if (tab == std::string::npos) break;
        start = tab + 1;
      }
      if (f.size() != 6) {
        ADD_FAILURE() << "unexpected row: " << line;
        continue;
      }
      rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
    }
    return rows;
  }

  // Every id the clients got back has exactly one row, and there is no other row.
  void expect_exactly_one_row_per_request(const std::vector<std::string>& ids) const {
    std::map<std::string, int> rows_per_id;
    for (const auto& row : log_rows()) ++rows_per_id[row.request_id];
    std::size_t missing = 0, duplicated = 0;
    std::string examples;
    std::set<std::string> expected;
    for (const auto& id : ids) {
      ASSERT_FALSE(id.empty()) << "a response without X-Request-Id";
      ASSERT_TRUE(expected.insert(id).second) << "the gateway issued " << id << " twice";
      const auto it = rows_per_id.find(id);
      if (it == rows_per_id.end()) {
        if (++missing <= 5) examples += " missing:" + id;
      } else if (it->second != 1) {
        if (++duplicated <= 5) examples += " x" + std::to_string(it->second) + ":" + id;
      }
    }
    std::size_t unexpected = 0;
    for (const auto& [id, n] : rows_per_id) {
      if (expected.count(id) == 0 && ++unexpected <= 5) examples += " unexpected:" + id;
    }
    EXPECT_EQ(missing, 0u) << examples;
    EXPECT_EQ(duplicated, 0u) << examples;
    EXPECT_EQ(unexpected, 0u) << examples;
    EXPECT_EQ(rows_per_id.size(), ids.size());
  }

  // Waits until the writer has put every request of the run into the table (the count only
  // grows, and never past the number of requests unless something is duplicated).
  void await_rows(std::size_t n, const GatewayProcess& gateway) const {
    long last = -1;
    const bool done =
        eventually([&] { return (last = row_count()) >= static_cast<long>(n); }, 120s, 200ms);
    ASSERT_TRUE(done) << last << " of " << n << " rows; gateway output:\n"
                      << gateway.output() << "\nspool metrics: spooled="
                      << gateway_metric(gateway, "gatewayd_persistence_records_spooled_total")
                      << " written="
                      << gateway_metric(gateway, "gatewayd_persistence_records_written_total");
  }

  static inline std::unique_ptr<MariaDbServer> db_;
  std::string database_;
};

// GET /ready as JSON (status code kept apart).
struct Readiness {
  unsigned code = 0;
  std::string status;    // "ready", "degraded", "not_ready"
  std::string database;  // the database check's text
};

Readiness readiness(const GatewayProcess& gateway) {
  Readiness r;
  const HttpResponse res = http_get(gateway.port(), "/ready");
  r.code = res.status;
  try {
    const json body = json::parse(res.body);
    r.status = body.value("status", "");
    r.database = body.at("checks").value("database", "");
  } catch (const std::exception&) {
    r.status = "unparsable: " + res.body;
  }
  return r;
}

TEST_F(PersistenceTest, EveryRequestGetsExactlyOneRow) {
  create_schema();
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{gateway_options(upstream)};

  constexpr int kRequests = 300;
  struct Sent {
    std::string method, path;
    unsigned status;
  };
  std::map<std::string, Sent> sent;  // by request id
  HttpConnection conn(gateway.port());
  for (int i = 0; i < kRequests; ++i) {
    HttpRequestSpec spec;
    // Mostly proxied GETs, some POSTs, and some requests no route matches: those are requests
    // too and must leave a row.
    if (i % 25 == 0) {
      spec.target = "/nowhere/" + std::to_string(i);
    } else if (i % 10 == 0) {
      spec.method = "POST";
      spec.target = "/demo/orders/" + std::to_string(i);
      spec.body = R"({"n":)" + std::to_string(i) + "}";
    } else {
      spec.target = "/demo/items/" + std::to_string(i);
    }
    const HttpResponse res = conn.request(spec);
    ASSERT_NE(res.status, 0u) << res.error;
    const std::string id = res.header("X-Request-Id");
    ASSERT_FALSE(id.empty());
    sent[id] = {spec.method, spec.target, res.status};
    // Probes of the built-in endpoints are interleaved; they are not request history.
    if (i % 50 == 0) {
      EXPECT_EQ(http_get(gateway.port(), "/health").status, 200u);
      EXPECT_EQ(http_get(gateway.port(), "/ready").status, 200u);
      EXPECT_EQ(http_get(gateway.port(), "/metrics").status, 200u);
    }
  }
  // A client that reuses its own request id still gets one row per request: the rows keep the
  // client's id as a prefix and differ in the gateway-made suffix.
  for (int i = 0; i < 2; ++i) {
    HttpRequestSpec spec;
    spec.target = "/demo/items/client-id";
    spec.headers = {{"X-Request-Id", "client-chosen-id"}};
    const HttpResponse res = conn.request(spec);
    ASSERT_EQ(res.status, 200u) << res.error;
    EXPECT_EQ(res.header("X-Request-Id"), "client-chosen-id");
  }

  // SIGTERM flushes the queue before the process exits: no waiting on the database needed.
  const ExitStatus exit = gateway.stop();
  EXPECT_TRUE(exit.success()) << exit.describe() << "\n" << gateway.output();

  const auto rows = log_rows();
  std::map<std::string, int> seen;
  int client_rows = 0;
  for (const auto& row : rows) {
    ++seen[row.request_id];
    if (row.request_id.rfind("client-chosen-id~", 0) == 0) {
      ++client_rows;
      EXPECT_GT(row.request_id.size(), std::string("client-chosen-id~").size());
      EXPECT_EQ(row.path, "/demo/items/client-id");
      continue;
    }
    const auto it = sent.find(row.request_id);
    if (it == sent.end()) {
      ADD_FAILURE() << "row of an unknown request: " << row.request_id << " " << row.path;
      continue;
    }
    const Sent& s = it->second;
    EXPECT_EQ(row.method, s.method) << row.request_id;
    EXPECT_EQ(row.path, s.path) << row.request_id;
    EXPECT_EQ(row.status, std::to_string(s.status)) << row.request_id;
    if (s.path.rfind("/demo/", 0) == 0) {
      EXPECT_EQ(s.status, 200u) << s.path;
      EXPECT_EQ(row.route, "demo-api") << row.request_id;
      EXPECT_EQ(row.service, "demo") << row.request_id;
    } else {
      EXPECT_EQ(s.status, 404u) << s.path;
      EXPECT_EQ(row.service, "") << row.request_id;
    }
  }
  EXPECT_EQ(client_rows, 2);
  EXPECT_EQ(seen.size(), rows.size()) << "a request id has several rows";
  EXPECT_EQ(rows.size(), static_cast<std::size_t>(kRequests) + 2);
  for (const auto& [id, s] : sent) EXPECT_EQ(seen.count(id), 1u) << "no row for " << s.path;
  for (const char* builtin : {"/health", "/ready", "/metrics"}) {
    EXPECT_EQ(sql(std::string("SELECT COUNT(*) FROM gateway_logs WHERE path = '") + builtin + "'"),
              "0\n")
        << builtin;
  }
}

TEST_F(PersistenceTest, DatabaseOutageUnderLoadLosesAndDuplicatesNothing) {
  create_schema();
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{gateway_options(upstream)};
  // /health answers before the writer's first connect; /ready follows it.
  ASSERT_TRUE(eventually([&] { return readiness(gateway).status == "ready"; }, 30s))
      << gateway.output();

  LoadClient load(gateway.port());
  // The outage starts once rows are flowing, so it interrupts a live connection, not a start-up.
  ASSERT_TRUE(eventually([&] { return row_count() > 0; }, 30s)) << gateway.output();

  db_->stop();
  // The writer notices on its next batch; from then on /ready says degraded, and stays ready
  // (200): the spool absorbs the records, so the replica keeps serving.
  ASSERT_TRUE(eventually([&] { return readiness(gateway).status == "degraded"; }, 30s))
      << gateway.output();
  const auto outage_end = std::chrono::steady_clock::now() + outage_length();
  int probes = 0;
  while (std::chrono::steady_clock::now() < outage_end) {
    const Readiness r = readiness(gateway);
    EXPECT_EQ(r.code, 200u) << r.status << " " << r.database;
    EXPECT_EQ(r.status, "degraded");
    EXPECT_EQ(r.database.rfind("degraded", 0), 0u) << r.database;
    ++probes;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_GT(probes, 0);
  const double spooled = gateway_metric(gateway, "gatewayd_persistence_records_spooled_total");
  EXPECT_GT(spooled, 0) << "nothing went to the spool during the outage";
  const std::size_t sent_during_outage = load.sent();

  db_->start();
  // The writer reconnects on its backoff schedule, then replays the spool while new requests
  // keep arriving behind it.
  ASSERT_TRUE(eventually([&] { return readiness(gateway).status == "ready"; }, 90s))
      << gateway.output();
  ASSERT_TRUE(eventually(
      [&] {
        return gateway_metric(gateway, "gatewayd_persistence_records_replayed_total") > 0 &&
               load.sent() > sent_during_outage + 100;
      },
      60s))
      << gateway.output();
  load.stop();

  const auto ids = load.ids();
  RecordProperty("requests", static_cast<int>(ids.size()));
  RecordProperty("spooled_during_outage", static_cast<int>(spooled));
  const auto failures = load.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  ASSERT_GT(ids.size(), 0u);
  await_rows(ids.size(), gateway);
  // The spool is truncated once replayed.
  EXPECT_TRUE(eventually(
      [&] { return gateway_metric(gateway, "gatewayd_persistence_spool_bytes") == 0; }, 30s));
  expect_exactly_one_row_per_request(ids);

  const ExitStatus exit = gateway.stop();
  EXPECT_TRUE(exit.success()) << exit.describe();
  EXPECT_EQ(row_count(), static_cast<long>(ids.size()));
}

TEST_F(PersistenceTest, SpoolOfAKilledGatewayIsReplayedByTheNextRun) {
  create_schema();
  // Without the unique key a record replayed twice would show as a second row instead of being
  // absorbed by INSERT IGNORE, so this test checks the spool checkpointing itself. The database
  // is stopped while no write is in flight, so there is no lost-commit-acknowledgement window
  // that could legitimately produce a second write.
  sql("ALTER TABLE gateway_logs DROP INDEX uk_gateway_logs_request_id");
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{gateway_options(upstream)};

  std::vector<std::string> ids;

  constexpr int kBefore = 50, kDuring = 400;
  send_requests(gateway, kBefore, "before", ids);
  if (HasFatalFailure()) return;
  await_rows(kBefore, gateway);

  db_->stop();
  send_requests(gateway, kDuring, "during", ids);
  if (HasFatalFailure()) return;
  // Every record of the outage is in the spool (each spool append is synced) before the kill;
  // records still in the in-memory queue would die with the process by design.
  ASSERT_TRUE(eventually(
      [&] {
        return gateway_metric(gateway, "gatewayd_persistence_records_spooled_total") >= kDuring;
      },
      30s))
      << gateway.output();
  EXPECT_GT(std::filesystem::file_size(gateway.dir() / "data/records.spool"), 0u);

  gateway.process().kill();
  db_->start();
  EXPECT_EQ(row_count(), kBefore);

  // A new process on the same DATA_DIRECTORY finds the spool and replays it.
  gateway.start();
  await_rows(ids.size(), gateway);
  EXPECT_TRUE(eventually(
      [&] { return gateway_metric(gateway, "gatewayd_persistence_spool_bytes") == 0; }, 30s));
  EXPECT_GE(gateway_metric(gateway, "gatewayd_persistence_records_replayed_total"), kDuring);
  const ExitStatus exit = gateway.stop();
  EXPECT_TRUE(exit.success()) << exit.describe();
  expect_exactly_one_row_per_request(ids);
}

// The spool outlives more than one run: a gateway killed while the database is down and restarted
// while it is still down recovers the spool, appends its own records behind the old ones, and
// replays both once the database is back.
TEST_F(PersistenceTest, SpoolGrowsAcrossRestartsWhileTheDatabaseStaysDown) {
  create_schema();
  // As above: make a double write visible instead of absorbed by the unique key.
  sql("ALTER TABLE gateway_logs DROP INDEX uk_gateway_logs_request_id");
  DemoUpstream upstream{"demo"};
  db_->stop();
  GatewayProcess gateway{gateway_options(upstream)};
  EXPECT_EQ(readiness(gateway).status, "degraded");

  std::vector<std::string> ids;
  constexpr int kPerRun = 150;
  for (int run = 0; run < 2; ++run) {
    if (run > 0) gateway.start();
    send_requests(gateway, kPerRun, "run" + std::to_string(run), ids);
    if (HasFatalFailure()) return;
    // The spooled counter restarts with the process: this run's records are all on disk.
    ASSERT_TRUE(eventually(
        [&] {
          return gateway_metric(gateway, "gatewayd_persistence_records_spooled_total") >= kPerRun;
        },
        30s))
        << gateway.output();
    gateway.process().kill();
  }

  gateway.start();
  db_->start();
  await_rows(ids.size(), gateway);
  EXPECT_TRUE(eventually(
      [&] { return gateway_metric(gateway, "gatewayd_persistence_spool_bytes") == 0; }, 30s));
  const ExitStatus exit = gateway.stop();
  EXPECT_TRUE(exit.success()) << exit.describe();
  expect_exactly_one_row_per_request(ids);
}

// A database crash (SIGKILL, InnoDB recovery on the way back) rather than a clean shutdown: a
// batch may be cut off mid-transaction. The unique key stays: a commit whose acknowledgement was
// lost is written again by design and must not show as a second row.
TEST_F(PersistenceTest, DatabaseCrashUnderLoadLosesAndDuplicatesNothing) {
  create_schema();
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{gateway_options(upstream)};
  LoadClient load(gateway.port());
  ASSERT_TRUE(eventually([&] { return row_count() > 0; }, 30s)) << gateway.output();

  db_->kill();
  ASSERT_TRUE(eventually([&] { return readiness(gateway).status == "degraded"; }, 30s))
      << gateway.output();
  const double spooled_before =
      gateway_metric(gateway, "gatewayd_persistence_records_spooled_total");
  // Some requests arrive while the database is gone, beyond the batch that noticed it.
  ASSERT_TRUE(eventually(
      [&] {
        return gateway_metric(gateway, "gatewayd_persistence_records_spooled_total") >
               spooled_before + 100;
      },
      30s));
  db_->start();
  ASSERT_TRUE(eventually([&] { return readiness(gateway).status == "ready"; }, 90s))
      << gateway.output();
  load.stop();

  const auto ids = load.ids();
  const auto failures = load.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  await_rows(ids.size(), gateway);
  EXPECT_TRUE(eventually(
      [&] { return gateway_metric(gateway, "gatewayd_persistence_spool_bytes") == 0; }, 30s));
  expect_exactly_one_row_per_request(ids);
  const ExitStatus exit = gateway.stop();
  EXPECT_TRUE(exit.success()) << exit.describe();
}

// Replicas share the `routes` table: a route created through one gateway's admin API is served
// by another within one database refresh period, and its deletion reaches it the same way.
TEST_F(PersistenceTest, RouteChangedOnOneReplicaReachesTheOther) {
  create_schema();
  DemoUpstream upstream("demo");
  auto options = gateway_options(upstream, 1);
  options.env["API_KEY_CACHE_TTL_SECONDS"] = "1";
  GatewayProcess first(options);
  GatewayProcess second(options);
  ASSERT_EQ(http_get(second.port(), "/shared/hello").status, 404u);

  HttpRequestSpec create;
  create.method = "POST";
  create.target = "/admin/routes";
  create.headers = {{"Authorization", std::string("Bearer ") + GatewayProcess::kAdminToken},
                    {"Content-Type", "application/json"}};
  create.body = R"({"name":"shared","path":"/shared/**","service":"demo","methods":["GET"],)"
                R"("auth_required":false,"strip_prefix":true})";
  const auto created = http_request(first.admin_port(), create);
  ASSERT_EQ(created.status, 201u) << created.body;
  EXPECT_EQ(http_get(first.port(), "/shared/hello").status, 200u);
  EXPECT_TRUE(eventually([&] { return http_get(second.port(), "/shared/hello").status == 200u; },
                         30s, 100ms))
      << second.output();

  HttpRequestSpec remove;
  remove.method = "DELETE";
  remove.target = "/admin/routes/shared";
  remove.headers = {{"Authorization", std::string("Bearer ") + GatewayProcess::kAdminToken}};
  const auto removed = http_request(first.admin_port(), remove);
  ASSERT_LT(removed.status, 300u) << removed.body;
  EXPECT_TRUE(eventually([&] { return http_get(second.port(), "/shared/hello").status == 404u; },
                         30s, 100ms))
      << second.output();
}

TEST_F(PersistenceTest, InitDbIsIdempotent) {
  for (int run = 0; run < 2; ++run) {
    std::string out;
    const ExitStatus s = init_db(&out);
    EXPECT_TRUE(s.success()) << "run " << run << ": " << s.describe() << ": " << out;
    EXPECT_NE(out.find("schema version"), std::string::npos) << out;
  }
  EXPECT_EQ(sql("SELECT version FROM schema_version ORDER BY version"), "1\n2\n");
  for (const char* table :
       {"gateway_logs", "audit_logs", "api_keys", "routes", "service_instances",
        "rate_limit_records", "rate_limit_rules", "circuit_breaker_states", "schema_version"}) {
    EXPECT_EQ(db_->sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '" +
                       database_ + "' AND table_name = '" + table + "'"),
              "1\n")
        << table;
  }
}

}  // namespace
}  // namespace gatewayd::test
