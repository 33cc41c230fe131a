// The whole pipeline against a real mariadbd: queue → writer → MySQL, and the spool when the
// database is down, slow, disabled or the queue is full.
#include "persistence/persistence_service.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "gatewayd/metrics.hpp"
#include "mysql_fixture.hpp"
#include "persistence/spool_file.hpp"
#include "support/free_port.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

using namespace std::chrono_literals;
using persistence::DbState;
using persistence::PersistenceOptions;
using persistence::PersistenceService;
using persistence::SpoolFile;

RequestRecord request(const std::string& id) {
  RequestRecord r;
  r.request_id = id;
  r.method = "GET";
  r.path = "/api/" + id;
  r.route = "api";
  r.target_service = "svc";
  r.client_ip = "127.0.0.1";
  r.status_code = 200;
  r.response_time_ms = 1.5;
  r.created_at = std::chrono::system_clock::now();
  return r;
}

class PersistenceServiceTest : public MySqlTest {
 protected:
  PersistenceOptions options(std::size_t batch = 50) {
    PersistenceOptions o;
    o.mysql = options_;
    o.mysql.connect_timeout = 1s;
    o.mysql.read_timeout = 5s;
    o.mysql.write_timeout = 5s;
    o.batch_size = batch;
    o.flush_interval = 20ms;
    o.queue_capacity = 4096;
    o.spool_path = dir_ / "data/records.spool";
    o.spool_max_bytes = 64 * 1024 * 1024;
    o.node_id = "node-t";
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    o.register_metrics = false;
    return o;
  }
  // Every row id of gateway_logs in insertion order.
  std::vector<std::string> logged_ids() {
    std::vector<std::string> out;
    for (auto& r : rows("SELECT request_id FROM gateway_logs ORDER BY id").rows) {
      out.push_back(*r[0]);
    }
    return out;
  }
  bool written(PersistenceService& s, std::uint64_t n) {
    return eventually([&] { return s.stats().records_written >= n; });
  }

  TempDir dir_{"gw-persist"};
};

TEST_F(PersistenceServiceTest, WritesEveryRecordTypeInBatches) {
  PersistenceService service(options(50));
  service.start();
  for (int i = 0; i < 120; ++i) service.submit(request("r" + std::to_string(i)));
  AuditRecord audit;
  audit.event_type = "route.delete";
  audit.details_json = R"({"route":"x"})";
  service.submit(audit);
  service.submit(RateLimitRecord{"ip:1", "minute", "/api", 4, std::chrono::system_clock::now(),
                                 std::chrono::system_clock::now() + 60s});
  service.submit(CircuitStateRecord{"svc", "open", 5, 0, std::chrono::system_clock::now(),
                                    std::chrono::system_clock::now()});
  ServiceInstanceRecord inst;
  inst.service_name = "svc";
  inst.instance_url = "http://127.0.0.1:9000";
  service.submit(inst);
  ASSERT_TRUE(written(service, 124)) << service.stats().records_written;
  EXPECT_EQ(count("gateway_logs"), 120);
  EXPECT_EQ(count("audit_logs"), 1);
  EXPECT_EQ(count("rate_limit_records"), 1);
  EXPECT_EQ(count("circuit_breaker_states"), 1);
  EXPECT_EQ(count("service_instances"), 1);
  auto st = service.stats();
  EXPECT_EQ(st.db_state, DbState::kUp);
  EXPECT_EQ(st.records_spooled, 0u);
  EXPECT_EQ(st.records_dropped, 0u);
  EXPECT_GE(st.batches_written, 3u);  // 124 records, at most 50 per batch
  EXPECT_GT(st.last_successful_write.time_since_epoch().count(), 0);
  service.stop();
}

TEST_F(PersistenceServiceTest, SpoolsWhileTheDatabaseIsDownAndReplaysInOrder) {
  PersistenceService service(options(20));
  service.start();
  int next = 0;
  auto submit_some = [&](int n) {
    for (int i = 0; i < n; ++i) service.submit(request("ord-" + std::to_string(next++)));
  };
  submit_some(30);
  ASSERT_TRUE(written(service, 30));

  server_->stop();
  submit_some(60);
  ASSERT_TRUE(service.flush(30s));
  ASSERT_TRUE(eventually([&] { return service.stats().records_spooled >= 60; }))
      << service.stats().records_spooled;
  EXPECT_EQ(service.db_state(), DbState::kDegraded);
  EXPECT_GT(service.stats().spool_bytes, 0u);
  EXPECT_GT(service.stats().write_errors, 0u);

  server_->start();
  submit_some(30);  // live records while the spool is replayed: they queue up behind it
  ASSERT_TRUE(eventually([&] {
    auto s = service.stats();
    return s.records_written >= 120 && s.spool_bytes == 0;
  })) << service.stats().records_written;
  EXPECT_EQ(service.db_state(), DbState::kUp);
  EXPECT_GE(service.stats().replay_runs, 1u);

  std::vector<std::string> expected;
  for (int i = 0; i < 120; ++i) expected.push_back("ord-" + std::to_string(i));
  EXPECT_EQ(logged_ids(), expected);
  EXPECT_EQ(count("spool_checkpoints"), 0);  // forgotten after the truncation
  service.stop();
}

TEST_F(PersistenceServiceTest, NewServiceReplaysWhatAnEarlierRunLeft) {
  {
    PersistenceOptions o = options();
    o.mysql.port = free_port();  // nothing listens: everything is spooled
    PersistenceService first(o);
    first.start();
    for (int i = 0; i < 25; ++i) first.submit(request("left-" + std::to_string(i)));
    first.stop();
    EXPECT_EQ(first.stats().records_spooled, 25u);
    EXPECT_EQ(first.stats().records_written, 0u);
  }
  PersistenceService second(options());
  EXPECT_EQ(second.stats().spool_records, 25u);
  second.start();
  ASSERT_TRUE(eventually([&] { return second.stats().spool_bytes == 0; }));
  EXPECT_EQ(count("gateway_logs"), 25);
  EXPECT_EQ(second.stats().records_replayed, 25u);
  second.stop();
}

TEST_F(PersistenceServiceTest, TornTailIsSkippedAndTheRestReplayed) {
  const PersistenceOptions o = options();
  {
    SpoolFile spool(o.spool_path, o.spool_max_bytes);
    std::vector<Record> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(request("torn-" + std::to_string(i)));
    spool.append(batch, true);
  }
  // A crash while the 10th record was being written.
  std::filesystem::resize_file(o.spool_path, std::filesystem::file_size(o.spool_path) - 7);
  PersistenceService service(o);
  service.start();
  ASSERT_TRUE(eventually([&] { return service.stats().spool_bytes == 0; }));
  EXPECT_EQ(count("gateway_logs"), 9);
  EXPECT_EQ(count("gateway_logs", "request_id = 'torn-9'"), 0);
  service.stop();
}

TEST_F(PersistenceServiceTest, CheckpointPreventsDoubleCountingAfterACrash) {
  // A run committed the first 3 spooled rate-limit records (and their checkpoint) and crashed
  // before truncating the spool: the next run must not add those counts again.
  const PersistenceOptions o = options();
  std::string generation;
  std::uint64_t after_three = 0;
  const auto window = SystemTime(std::chrono::seconds(1'700'000'000));
  {
    SpoolFile spool(o.spool_path, o.spool_max_bytes);
    generation = spool.generation();
    for (int i = 0; i < 5; ++i) {
      spool.append(RateLimitRecord{"user:1", "minute", "/api", 10, window, window + 60s}, true);
      if (i == 2) after_three = spool.end_offset();
    }
  }
  ASSERT_FALSE(db_->execute("INSERT INTO rate_limit_records (identifier, window_type, route_path, "
                            "request_count, window_start, window_end) VALUES ('user:1', "
                            "'minute', '/api', 30, '2023-11-14 22:13:20', '2023-11-14 22:14:20')")
                   .has_value());
  ASSERT_FALSE(db_->execute("INSERT INTO spool_checkpoints (spool_id, committed_offset) VALUES ('" +
                            generation + "', " + std::to_string(after_three) + ")")
                   .has_value());
  PersistenceService service(o);
  service.start();
  ASSERT_TRUE(eventually([&] { return service.stats().spool_bytes == 0; }));
  EXPECT_EQ(scalar("SELECT request_count FROM rate_limit_records"), "50");
  EXPECT_EQ(service.stats().records_replayed, 2u);
  service.stop();
}

TEST_F(PersistenceServiceTest, FullQueueSpillsToTheSpoolWithoutBlocking) {
  PersistenceOptions o = options(1000);
  o.queue_capacity = 8;
  o.flush_interval = 10s;  // the writer is not started anyway
  PersistenceService service(o);
  for (int i = 0; i < 100; ++i) service.submit(request("spill-" + std::to_string(i)));
  auto st = service.stats();
  EXPECT_EQ(st.queue_depth, 8u);
  EXPECT_EQ(st.records_spilled, 92u);
  EXPECT_EQ(st.spool_records, 92u);
  EXPECT_EQ(st.records_dropped, 0u);
  service.start();
  ASSERT_TRUE(eventually([&] {
    auto s = service.stats();
    return s.records_written >= 100 && s.spool_bytes == 0 && s.queue_depth == 0;
  })) << service.stats().records_written;
  EXPECT_EQ(count("gateway_logs"), 100);
  service.stop();
}

TEST_F(PersistenceServiceTest, DisabledKeepsRecordsInTheSpool) {
  PersistenceOptions o = options();
  o.enabled = false;
  {
    PersistenceService service(o);
    EXPECT_EQ(service.db_state(), DbState::kDisabled);
    service.start();
    for (int i = 0; i < 15; ++i) service.submit(request("off-" + std::to_string(i)));
    AuditRecord audit;
    audit.event_type = "admin.login";
    service.submit(audit);
    ASSERT_TRUE(service.flush(10s));
    EXPECT_EQ(service.stats().records_spooled, 16u);
    service.stop();
  }
  EXPECT_EQ(count("gateway_logs"), 0);
  SpoolFile spool(o.spool_path, o.spool_max_bytes);
  EXPECT_EQ(spool.pending_records(), 16u);

  // Enabling the database later replays them.
  o.enabled = true;
  PersistenceService enabled(o);
  enabled.start();
  ASSERT_TRUE(eventually([&] { return enabled.stats().spool_bytes == 0; }));
  EXPECT_EQ(count("gateway_logs"), 15);
  EXPECT_EQ(count("audit_logs"), 1);
}

TEST_F(PersistenceServiceTest, SpoolLimitDropsAndCounts) {
  PersistenceOptions o = options(10);
  o.enabled = false;
  o.spool_max_bytes = 2000;
  PersistenceService service(o);
  service.start();
  for (int i = 0; i < 100; ++i) service.submit(request("lim-" + std::to_string(i)));
  ASSERT_TRUE(service.flush(10s));
  auto st = service.stats();
  EXPECT_GT(st.records_dropped, 0u);
  EXPECT_EQ(st.records_spooled + st.records_dropped, 100u);
  EXPECT_LE(st.spool_bytes, 2000u);
  service.stop();
}

TEST_F(PersistenceServiceTest, StopFlushesQueuedRecords) {
  PersistenceOptions o = options(1000);
  o.flush_interval = 60s;  // only stop() makes the writer drain
  PersistenceService service(o);
  service.start();
  ASSERT_TRUE(eventually([&] { return service.db_state() == DbState::kUp; }));
  for (int i = 0; i < 40; ++i) service.submit(request("stop-" + std::to_string(i)));
  service.stop(10s);
  EXPECT_EQ(count("gateway_logs"), 40);
  EXPECT_EQ(service.stats().spool_records, 0u);
}

TEST_F(PersistenceServiceTest, DataErrorsAreSetAsideNotRetriedForever) {
  // A service name that is not valid UTF-8 is refused by the server (strict mode, the default);
  // the other records of the batch still land.
  CircuitStateRecord bad{"svc-\xff\xfe", "open", 1, 0, {}, {}};
  PersistenceService service(options());
  service.start();
  service.submit(CircuitStateRecord{"svc-ok", "closed", 0, 0, {}, {}});
  service.submit(bad);
  service.submit(CircuitStateRecord{"svc-ok2", "closed", 0, 0, {}, {}});
  ASSERT_TRUE(eventually([&] { return service.stats().records_rejected == 1; }));
  ASSERT_TRUE(written(service, 2));
  EXPECT_EQ(count("circuit_breaker_states"), 2);
  auto rejected = service.options().spool_path;
  rejected += ".rejected";
  service.stop();
  SpoolFile kept(rejected, 1 << 20);
  EXPECT_EQ(kept.pending_records(), 1u);
}

TEST_F(PersistenceServiceTest, HungDatabaseTimesOutToTheSpool) {
  PersistenceOptions o = options(10);
  o.mysql.connect_timeout = 1s;
  o.mysql.read_timeout = 1s;
  o.mysql.write_timeout = 1s;
  PersistenceService service(o);
  service.start();
  for (int i = 0; i < 10; ++i) service.submit(request("hung-" + std::to_string(i)));
  ASSERT_TRUE(written(service, 10));

  server_->pause();
  for (int i = 10; i < 30; ++i) service.submit(request("hung-" + std::to_string(i)));
  // Every record is accounted for (spooled) although the server never answers.
  EXPECT_TRUE(service.flush(30s));
  EXPECT_EQ(service.db_state(), DbState::kDegraded);
  EXPECT_GE(service.stats().records_spooled, 20u);

  server_->resume();
  ASSERT_TRUE(eventually([&] {
    auto s = service.stats();
    return s.spool_bytes == 0 && s.db_state == DbState::kUp && s.queue_depth == 0;
  }));
  EXPECT_EQ(count("gateway_logs"), 30);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT request_id) FROM gateway_logs"), "30");
  service.stop();
}

TEST_F(PersistenceServiceTest, SteadyLoadAcrossADatabaseCrashKeepsExactlyOneRowPerRequest) {
  PersistenceOptions o = options(100);
  o.queue_capacity = 256;  // small: producers also spill to the spool under load
  PersistenceService service(o);
  service.start();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;
  std::atomic<int> submitted{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        service.submit(request("load-" + std::to_string(t) + "-" + std::to_string(i)));
        submitted.fetch_add(1);
        if (i % 100 == 99) std::this_thread::sleep_for(5ms);  // pacing, not synchronisation
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return service.stats().records_written >= 500; }));
  server_->kill();
  ASSERT_TRUE(eventually([&] { return service.stats().records_spooled > 0; }));
  server_->start();
  for (auto& p : producers) p.join();
  ASSERT_TRUE(service.flush(60s));
  ASSERT_TRUE(eventually(
      [&] {
        auto s = service.stats();
        return s.spool_bytes == 0 && s.queue_depth == 0 && s.db_state == DbState::kUp;
      },
      60s));
  EXPECT_EQ(count("gateway_logs"), kThreads * kPerThread);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT request_id) FROM gateway_logs"),
            std::to_string(kThreads * kPerThread));
  EXPECT_EQ(service.stats().records_dropped, 0u);
  service.stop();
}

TEST_F(PersistenceServiceTest, PublishesMetrics) {
  PersistenceOptions o = options();
  o.register_metrics = true;
  PersistenceService service(o);
  service.start();
  service.submit(request("m-1"));
  ASSERT_TRUE(written(service, 1));
  service.stop();
  const std::string text = metrics::Registry::global().render();
  for (const char* name :
       {"gatewayd_persistence_queue_depth", "gatewayd_persistence_records_written_total",
        "gatewayd_persistence_records_spooled_total", "gatewayd_persistence_spool_bytes",
        "gatewayd_persistence_replay_runs_total", "gatewayd_persistence_write_errors_total",
        "gatewayd_persistence_last_write_timestamp_seconds",
        "gatewayd_persistence_records_dropped_total"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
  EXPECT_NE(text.find("gatewayd_persistence_db_state{state=\"up\"}"), std::string::npos);
}

TEST(PersistenceSampling, KeepsAShareDecidedByRequestIdAndAlwaysErrors) {
  RequestRecord r;
  int kept = 0;
  for (int i = 0; i < 10000; ++i) {
    r.request_id = "sample-" + std::to_string(i);
    r.status_code = 200;
    const bool in = PersistenceService::sampled_in(r, 0.25);
    EXPECT_EQ(in, PersistenceService::sampled_in(r, 0.25));  // deterministic
    kept += in;
    r.status_code = 503;
    EXPECT_TRUE(PersistenceService::sampled_in(r, 0.0));
  }
  EXPECT_GT(kept, 2000);
  EXPECT_LT(kept, 3000);
  r.status_code = 200;
  EXPECT_TRUE(PersistenceService::sampled_in(r, 1.0));
  EXPECT_FALSE(PersistenceService::sampled_in(r, 0.0));
  r.error_code = "UPSTREAM_TIMEOUT";
  EXPECT_TRUE(PersistenceService::sampled_in(r, 0.0));
}

TEST_F(PersistenceServiceTest, SampledOutRequestsAreNotWritten) {
  PersistenceOptions o = options();
  o.request_sample_rate = 0.0;
  PersistenceService service(o);
  service.start();
  service.submit(request("quiet"));
  RequestRecord failed = request("failed");
  failed.status_code = 500;
  service.submit(failed);
  AuditRecord audit;
  audit.event_type = "x";
  service.submit(audit);  // other records are never sampled
  ASSERT_TRUE(written(service, 2));
  service.stop();
  EXPECT_EQ(logged_ids(), std::vector<std::string>{"failed"});
  EXPECT_EQ(service.stats().records_sampled_out, 1u);
  EXPECT_EQ(count("audit_logs"), 1);
}

}  // namespace
}  // namespace gatewayd::test
