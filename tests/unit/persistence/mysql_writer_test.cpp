// MySqlWriter against a real mariadbd: every record type lands in its table with the right
// columns, batches are single statements (bulk execution, or the multi-row INSERTs MySQL gets:
// every test runs both ways), upserts merge, gateway_logs de-duplicates.
#include "persistence/mysql_writer.hpp"

#include <gtest/gtest.h>

#include "mysql_fixture.hpp"

namespace gatewayd::test {
namespace {

using namespace std::chrono_literals;
using persistence::MySqlWriter;

SystemTime at(int64_t unix_seconds, int ms = 0) {
  return SystemTime(std::chrono::seconds(unix_seconds)) + std::chrono::milliseconds(ms);
}

RequestRecord request(std::string id, unsigned status = 200) {
  RequestRecord r;
  r.request_id = std::move(id);
  r.method = "GET";
  r.path = "/api/items/1";
  r.route = "items";
  r.target_service = "item-service";
  r.client_ip = "10.1.2.3";
  r.status_code = status;
  r.response_time_ms = 3.25;
  r.created_at = at(1'700'000'000, 123);
  return r;
}

// The parameter says whether the writer may use bulk execution (MariaDB); false runs the
// multi-row statements a MySQL server gets.
class MySqlWriterTest : public MySqlTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    MySqlTest::SetUp();
    writer_ = make_writer();
    ASSERT_FALSE(writer_->connect().has_value());
  }
  std::unique_ptr<MySqlWriter> make_writer(
      std::size_t preferred_rows = MySqlWriter::kMaxRowsPerStatement) {
    auto w = std::make_unique<MySqlWriter>(options_, "node-a", preferred_rows);
    w->set_bulk_enabled(bulk());
    return w;
  }
  static bool bulk() { return GetParam(); }
  std::unique_ptr<MySqlWriter> writer_;
};

INSTANTIATE_TEST_SUITE_P(Modes, MySqlWriterTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bulk" : "MultiRow";
                         });

TEST_P(MySqlWriterTest, BulkExecutionFollowsTheServerAndTheSwitch) {
  // mariadbd advertises bulk operations; the switch alone decides here.
  EXPECT_EQ(writer_->bulk(), bulk());
  writer_->disconnect();
  EXPECT_FALSE(writer_->bulk());  // no connection, no server capability
}

TEST_P(MySqlWriterTest, RequestRecordColumns) {
  RequestRecord r = request("req-1", 504);
  r.user_id = "user-7";
  r.error_code = "UPSTREAM_TIMEOUT";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  std::vector<Record> batch = {r, request("req-2")};
  ASSERT_FALSE(writer_->write(batch).has_value());
  auto got = rows(
      "SELECT request_id, method, path, route, target_service, user_id, client_ip, status_code, "
      "response_time_ms, error_code, trace_id, node_id, "
      "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') FROM gateway_logs ORDER BY request_id");
  ASSERT_EQ(got.rows.size(), 2u);
  const auto& row = got.rows[0];
  EXPECT_EQ(*row[0], "req-1");
  EXPECT_EQ(*row[1], "GET");
  EXPECT_EQ(*row[2], "/api/items/1");
  EXPECT_EQ(*row[3], "items");
  EXPECT_EQ(*row[4], "item-service");
  EXPECT_EQ(*row[5], "user-7");
  EXPECT_EQ(*row[6], "10.1.2.3");
  EXPECT_EQ(*row[7], "504");
  EXPECT_EQ(*row[8], "3.25");
  EXPECT_EQ(*row[9], "UPSTREAM_TIMEOUT");
  EXPECT_EQ(*row[10], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(*row[11], "node-a");
  EXPECT_EQ(*row[12], "2023-11-14 22:13:20.123000");  // UTC
  // Empty optional fields are NULL, not ''.
  EXPECT_FALSE(got.rows[1][5].has_value());
  EXPECT_FALSE(got.rows[1][9].has_value());
}

TEST_P(MySqlWriterTest, GatewayLogsAreNotDuplicatedOnReplay) {
  std::vector<Record> batch = {request("dup-1"), request("dup-2")};
  ASSERT_FALSE(writer_->write(batch).has_value());
  std::vector<Record> replay = {request("dup-2"), request("dup-1"), request("dup-3")};
  ASSERT_FALSE(writer_->write(replay).has_value());
  EXPECT_EQ(count("gateway_logs"), 3);
  EXPECT_EQ(count("gateway_logs", "request_id = 'dup-1'"), 1);
}

TEST_P(MySqlWriterTest, AuditRecordColumnsAndJson) {
  AuditRecord a;
  a.event_type = "route.create";
  a.user_id = "admin";
  a.ip_address = "127.0.0.1";
  a.user_agent = "curl/8.0";
  a.request_id = "req-9";
  a.details_json = R"({"route":"items","methods":["GET"]})";
  a.created_at = at(1'700'000'100);
  AuditRecord not_json;
  not_json.event_type = "auth.failure";
  not_json.details_json = "reason: bad \"token\"";  // not JSON: stored as a JSON string
  AuditRecord empty;
  empty.event_type = "circuit.open";
  empty.details_json = "";
  std::vector<Record> batch = {a, not_json, empty};
  ASSERT_FALSE(writer_->write(batch).has_value());
  auto got = rows(
      "SELECT event_type, user_id, ip_address, user_agent, JSON_EXTRACT(details, '$.route'), "
      "request_id, node_id, created_at FROM audit_logs WHERE event_type = 'route.create'");
  ASSERT_EQ(got.rows.size(), 1u);
  EXPECT_EQ(*got.rows[0][1], "admin");
  EXPECT_EQ(*got.rows[0][2], "127.0.0.1");
  EXPECT_EQ(*got.rows[0][3], "curl/8.0");
  EXPECT_EQ(*got.rows[0][4], "\"items\"");
  EXPECT_EQ(*got.rows[0][5], "req-9");
  EXPECT_EQ(*got.rows[0][6], "node-a");
  EXPECT_EQ(*got.rows[0][7], "2023-11-14 22:15:00.000");
  EXPECT_EQ(scalar("SELECT JSON_UNQUOTE(details) FROM audit_logs WHERE event_type = "
                   "'auth.failure'"),
            "reason: bad \"token\"");
  EXPECT_EQ(count("audit_logs", "event_type = 'circuit.open' AND details IS NULL"), 1);
  // created_at defaults to the write time when the producer left it unset.
  EXPECT_EQ(count("audit_logs",
                  "event_type = 'auth.failure' AND created_at > NOW() - INTERVAL 1 "
                  "HOUR"),
            1);
}

TEST_P(MySqlWriterTest, RateLimitRecordsAggregate) {
  RateLimitRecord r{"user:7", "minute", "/api/items", 5, at(1'700'000'040), at(1'700'000'100)};
  RateLimitRecord same_window = r;
  same_window.request_count = 3;
  RateLimitRecord other_route = r;
  other_route.route_path = "/api/other";
  std::vector<Record> batch = {r, same_window, other_route};
  ASSERT_FALSE(writer_->write(batch).has_value());
  std::vector<Record> later = {same_window};
  ASSERT_FALSE(writer_->write(later).has_value());
  EXPECT_EQ(count("rate_limit_records"), 2);
  EXPECT_EQ(scalar("SELECT request_count FROM rate_limit_records WHERE route_path = '/api/items'"),
            "11");
  EXPECT_EQ(scalar("SELECT CONCAT(window_start, ' ', window_end, ' ', window_type) FROM "
                   "rate_limit_records WHERE route_path = '/api/other'"),
            "2023-11-14 22:14:00.000 2023-11-14 22:15:00.000 minute");
}

TEST_P(MySqlWriterTest, CircuitStatesUpsertLatestWins) {
  CircuitStateRecord closed{"svc-a", "closed", 0, 0, {}, at(1'700'000'000)};
  CircuitStateRecord open{"svc-a", "open", 5, 0, at(1'700'000'050), at(1'700'000'050)};
  CircuitStateRecord half{"svc-a", "half_open", 5, 1, {}, at(1'700'000'110)};
  std::vector<Record> batch = {closed, open};
  ASSERT_FALSE(writer_->write(batch).has_value());
  EXPECT_EQ(scalar("SELECT CONCAT(state, ' ', failure_count, ' ', last_failure_time) FROM "
                   "circuit_breaker_states WHERE service_name = 'svc-a'"),
            "open 5 2023-11-14 22:14:10.000");
  std::vector<Record> next = {half};
  ASSERT_FALSE(writer_->write(next).has_value());
  EXPECT_EQ(count("circuit_breaker_states"), 1);
  // An unset last_failure_time keeps the one already stored.
  EXPECT_EQ(scalar("SELECT CONCAT(state, ' ', success_count, ' ', last_failure_time, ' ', "
                   "last_state_change) FROM circuit_breaker_states"),
            "half_open 1 2023-11-14 22:14:10.000 2023-11-14 22:15:10.000");
}

TEST_P(MySqlWriterTest, ServiceInstancesUpsertByServiceAndUrl) {
  ServiceInstanceRecord a;
  a.service_name = "svc";
  a.instance_url = "http://10.0.0.1:8000";
  a.instance_id = "i-1";
  a.weight = 2;
  a.health_check_path = "/health";
  a.health_check_interval = 30;
  a.metadata_json = R"({"zone":"eu-1"})";
  a.last_health_check = at(1'700'000'000);
  ServiceInstanceRecord b = a;
  b.instance_url = "http://10.0.0.2:8000";
  std::vector<Record> batch = {a, b};
  ASSERT_FALSE(writer_->write(batch).has_value());
  a.is_healthy = false;
  a.failure_count = 3;
  a.weight = 5;
  std::vector<Record> update = {a};
  ASSERT_FALSE(writer_->write(update).has_value());
  EXPECT_EQ(count("service_instances"), 2);
  EXPECT_EQ(scalar("SELECT CONCAT(is_healthy, ' ', failure_count, ' ', weight, ' ', instance_id, "
                   "' ', health_check_interval, ' ', JSON_UNQUOTE(JSON_EXTRACT(metadata, "
                   "'$.zone'))) FROM service_instances WHERE instance_url = "
                   "'http://10.0.0.1:8000'"),
            "0 3 5 i-1 30 eu-1");
}

TEST_P(MySqlWriterTest, LargeBatchesAreFewStatements) {
  std::vector<Record> batch;
  for (int i = 0; i < 150; ++i) batch.push_back(request("bulk-" + std::to_string(i)));
  for (int i = 0; i < 3; ++i) {
    batch.push_back(RateLimitRecord{"ip:" + std::to_string(i), "minute", "", 1, at(1'700'000'000),
                                    at(1'700'000'060)});
  }
  const auto before = writer_->statements_executed();
  ASSERT_FALSE(writer_->write(batch).has_value());
  // Bulk: one statement per type. Multi-row: 150 = 128 + 16 + 4 + 2 rows; 3 = 2 + 1.
  EXPECT_EQ(writer_->statements_executed() - before, bulk() ? 2u : 6u);
  EXPECT_EQ(count("gateway_logs"), 150);
  EXPECT_EQ(count("rate_limit_records"), 3);
}

TEST_P(MySqlWriterTest, AFullBatchIsOneStatementWithoutTransaction) {
  auto owned = make_writer(300);
  MySqlWriter& writer = *owned;
  ASSERT_FALSE(writer.connect().has_value());
  std::vector<Record> batch;
  for (int i = 0; i < 300; ++i) batch.push_back(request("full-" + std::to_string(i)));
  ASSERT_FALSE(writer.write(batch).has_value());
  EXPECT_EQ(writer.statements_executed(), 1u);
  EXPECT_EQ(writer.transactions_started(), 0u);
  EXPECT_EQ(count("gateway_logs"), 300);

  // Past the preferred size. Multi-row: one preferred chunk, then powers of two (300 + 8 + 2 +
  // 1), in one transaction. Bulk: any size up to kMaxRowsPerStatement is still one statement.
  batch.clear();
  for (int i = 0; i < 311; ++i) batch.push_back(request("more-" + std::to_string(i)));
  ASSERT_FALSE(writer.write(batch).has_value());
  EXPECT_EQ(writer.statements_executed(), bulk() ? 2u : 1u + 4u);
  EXPECT_EQ(writer.transactions_started(), bulk() ? 0u : 1u);
  EXPECT_EQ(count("gateway_logs"), 611);
  // Bulk past kMaxRowsPerStatement: two statements in one transaction.
  if (bulk()) {
    batch.clear();
    for (int i = 0; i < 600; ++i) batch.push_back(request("most-" + std::to_string(i)));
    ASSERT_FALSE(writer.write(batch).has_value());
    EXPECT_EQ(writer.statements_executed(), 4u);  // 512 + 88
    EXPECT_EQ(writer.transactions_started(), 1u);
    EXPECT_EQ(count("gateway_logs"), 1211);
  }
  const auto transactions = writer.transactions_started();

  // A checkpoint always shares a transaction with its rows.
  batch.resize(1);
  batch[0] = request("with-checkpoint");
  ASSERT_FALSE(writer.write(batch, MySqlWriter::Checkpoint{"gen-one", 7}).has_value());
  EXPECT_EQ(writer.transactions_started(), transactions + 1);
  EXPECT_EQ(writer.load_checkpoint("gen-one").value, 7u);
}

TEST_P(MySqlWriterTest, AReusedStatementTakesNewValueKinds) {
  // The same two-row statement runs three times; its bind arrays are kept between executions,
  // so a parameter that was text, unsigned or NULL before must carry only its new value.
  RequestRecord a = request("reuse-1", 500);
  a.user_id = "user-a";
  a.error_code = "UPSTREAM_ERROR";
  RequestRecord b = request("reuse-2");
  std::vector<Record> first = {a, b};
  ASSERT_FALSE(writer_->write(first).has_value());
  RequestRecord c = request("reuse-3", 404);  // user_id and error_code now NULL
  RequestRecord d = request("reuse-4", 201);
  d.user_id = "user-d";
  d.path = "/a/much/longer/path/than/the/one/before";
  std::vector<Record> second = {c, d};
  ASSERT_FALSE(writer_->write(second).has_value());
  std::vector<Record> third = {request("reuse-5", 70000), request("reuse-6")};
  ASSERT_FALSE(writer_->write(third).has_value());
  EXPECT_EQ(writer_->statements_executed(), 3u);
  auto got = rows(
      "SELECT request_id, COALESCE(user_id, '-'), COALESCE(error_code, '-'), status_code, path "
      "FROM gateway_logs ORDER BY request_id");
  ASSERT_EQ(got.rows.size(), 6u);
  auto line = [&](std::size_t i) {
    const auto& r = got.rows[i];
    return *r[0] + " " + *r[1] + " " + *r[2] + " " + *r[3] + " " + *r[4];
  };
  EXPECT_EQ(line(0), "reuse-1 user-a UPSTREAM_ERROR 500 /api/items/1");
  EXPECT_EQ(line(1), "reuse-2 - - 200 /api/items/1");
  EXPECT_EQ(line(2), "reuse-3 - - 404 /api/items/1");
  EXPECT_EQ(line(3), "reuse-4 user-d - 201 /a/much/longer/path/than/the/one/before");
  EXPECT_EQ(line(4), "reuse-5 - - 0 /api/items/1");  // out of SMALLINT range: stored as 0
  EXPECT_EQ(line(5), "reuse-6 - - 200 /api/items/1");
}

TEST_P(MySqlWriterTest, ChunksArePreferredSizeThenPowersOfTwo) {
  if (bulk()) {
    // One statement serves every size: chunks are what is left, up to the packet bound.
    EXPECT_EQ(writer_->next_chunk(1200), MySqlWriter::kMaxRowsPerStatement);
    EXPECT_EQ(writer_->next_chunk(499), 499u);
    EXPECT_EQ(writer_->next_chunk(1), 1u);
  }
  // Without a connection (and with MySQL) the sizes of the multi-row statements apply.
  MySqlWriter writer(options_, "node-a", 500);
  EXPECT_EQ(writer.next_chunk(1200), 500u);
  EXPECT_EQ(writer.next_chunk(500), 500u);
  EXPECT_EQ(writer.next_chunk(499), 256u);
  EXPECT_EQ(writer.next_chunk(3), 2u);
  EXPECT_EQ(writer.next_chunk(1), 1u);
  // The preferred size is capped, so a statement stays within the packet limits.
  MySqlWriter big(options_, "node-a", 100'000);
  EXPECT_EQ(big.next_chunk(100'000), MySqlWriter::kMaxRowsPerStatement);
  MySqlWriter tiny(options_, "node-a", 0);
  EXPECT_EQ(tiny.next_chunk(10), 1u);
}

TEST_P(MySqlWriterTest, AFailedSingleStatementLeavesNoRow) {
  // Without an explicit transaction the statement alone must be atomic: the second row fails
  // (a trigger refuses it, which INSERT IGNORE does not ignore) after the first was inserted.
  ASSERT_FALSE(db_->execute("CREATE TRIGGER refuse_single_2 BEFORE INSERT ON gateway_logs "
                            "FOR EACH ROW BEGIN IF NEW.request_id = 'single-2' THEN "
                            "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END")
                   .has_value());
  std::vector<Record> batch = {request("single-1"), request("single-2")};
  auto e = writer_->write(batch);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(writer_->transactions_started(), 0u);
  EXPECT_EQ(count("gateway_logs"), 0);
  EXPECT_TRUE(writer_->connected());
}

TEST_P(MySqlWriterTest, OversizedTextIsClampedOnACharacterBoundary) {
  RequestRecord r = request("long-1");
  r.path = "/" + std::string(3000, 'p');
  r.route = std::string(254, 'r') + "\xc3\xa9\xc3\xa9";  // 256 characters, the last two é
  std::vector<Record> batch = {r};
  ASSERT_FALSE(writer_->write(batch).has_value());
  EXPECT_EQ(scalar("SELECT CHAR_LENGTH(path) FROM gateway_logs"), "2048");
  EXPECT_EQ(scalar("SELECT CHAR_LENGTH(route) FROM gateway_logs"), "255");
  EXPECT_EQ(scalar("SELECT RIGHT(route, 1) FROM gateway_logs"), "\xc3\xa9");
}

TEST_P(MySqlWriterTest, CheckpointCommitsWithTheRows) {
  EXPECT_EQ(writer_->load_checkpoint("gen-1").value, 0u);
  std::vector<Record> batch = {request("cp-1")};
  ASSERT_FALSE(writer_->write(batch, MySqlWriter::Checkpoint{"gen-1", 1234}).has_value());
  EXPECT_EQ(writer_->load_checkpoint("gen-1").value, 1234u);
  ASSERT_FALSE(writer_->write({}, MySqlWriter::Checkpoint{"gen-1", 2000}).has_value());
  EXPECT_EQ(writer_->load_checkpoint("gen-1").value, 2000u);
  writer_->forget_checkpoint("gen-1");
  EXPECT_EQ(writer_->load_checkpoint("gen-1").value, 0u);
}

TEST_P(MySqlWriterTest, FailedBatchRollsBackEntirely) {
  // A schema the writer does not expect (a column dropped) fails the second statement; the
  // first table's rows must not stay behind.
  ASSERT_FALSE(db_->execute("ALTER TABLE audit_logs DROP COLUMN node_id").has_value());
  AuditRecord a;
  a.event_type = "x";
  std::vector<Record> batch = {request("rb-1"), a};
  auto e = writer_->write(batch, MySqlWriter::Checkpoint{"gen-rb", 99});
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->data_error());  // unknown column: a schema problem, retried later
  EXPECT_EQ(count("gateway_logs"), 0);
  EXPECT_EQ(count("spool_checkpoints"), 0);
}

TEST_P(MySqlWriterTest, ReportsConnectionLossAsTransient) {
  writer_->disconnect();
  std::vector<Record> batch = {request("gone")};
  auto e = writer_->write(batch);
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->connection_lost());
  ASSERT_FALSE(writer_->connect().has_value());
  EXPECT_FALSE(writer_->write(batch).has_value());
}

TEST(ClampUtf8, NeverSplitsACharacter) {
  using persistence::clamp_utf8;
  EXPECT_EQ(clamp_utf8("abc", 5), "abc");
  EXPECT_EQ(clamp_utf8("abcdef", 3), "abc");
  EXPECT_EQ(clamp_utf8("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9");
  EXPECT_EQ(clamp_utf8("a\xf0\x9f\x98\x80z", 2), "a\xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace gatewayd::test
