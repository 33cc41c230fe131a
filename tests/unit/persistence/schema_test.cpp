// The schema script: idempotent through --init-db and through the mariadb client, and the
// compiled-in copy is the file in the source tree.
#include <gtest/gtest.h>

#include <set>

#include "mysql_fixture.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

class SchemaTest : public MySqlTest {
 protected:
  // The indexes of gateway_logs, "name(col,col)" in name order (binary collation).
  std::string log_indexes() {
    return scalar(
        "SELECT GROUP_CONCAT(CONCAT(index_name, '(', cols, ')') ORDER BY index_name SEPARATOR ' ') "
        "FROM (SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) AS cols "
        "FROM information_schema.statistics WHERE table_schema = DATABASE() "
        "AND table_name = 'gateway_logs' GROUP BY index_name) i");
  }
};

TEST_F(SchemaTest, EmbeddedScriptIsTheSourceFile) {
  std::string on_disk =
      read_whole_file(std::string(GATEWAYD_SOURCE_DIR) + "/scripts/database/init_database.sql");
  ASSERT_FALSE(on_disk.empty());
  EXPECT_EQ(persistence::schema_sql(), on_disk);
}

TEST_F(SchemaTest, AppliesTwiceAndRecordsItsVersion) {
  // SetUp applied it once already.
  auto again = persistence::init_database(options_);
  EXPECT_EQ(again.schema_version, persistence::kSchemaVersion);
  EXPECT_FALSE(again.server_version.empty());
  EXPECT_EQ(count("schema_version"), persistence::kSchemaVersion);
  for (const char* table : {"api_keys", "routes", "service_instances", "rate_limit_records",
                            "circuit_breaker_states", "audit_logs", "gateway_logs",
                            "rate_limit_rules", "gateway_settings", "spool_checkpoints"}) {
    EXPECT_EQ(scalar(std::string("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                 "table_schema = DATABASE() AND table_name = '") +
                     table + "' AND engine = 'InnoDB'"),
              "1")
        << table;
  }
}

TEST_F(SchemaTest, KeepsTheReferenceColumnsAndKeys) {
  auto columns = [&](const std::string& table) {
    auto r = rows(
        "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM "
        "information_schema.columns WHERE table_schema = DATABASE() AND table_name = '" +
        table + "'");
    return r.rows.empty() || !r.rows[0][0] ? std::string() : "," + *r.rows[0][0] + ",";
  };
  auto has = [&](const std::string& table, std::initializer_list<const char*> names) {
    std::string cols = columns(table);
    for (const char* n : names) {
      EXPECT_NE(cols.find(std::string(",") + n + ","), std::string::npos) << table << "." << n;
    }
  };
  has("api_keys",
      {"api_key_hash", "user_id", "tenant_id", "name", "permissions", "rate_limit_per_minute",
       "rate_limit_per_hour", "is_active", "expires_at", "created_by", "created_at"});
  has("routes", {"path", "service_name", "methods", "auth_required", "rate_limit", "timeout",
                 "strip_prefix", "rewrite_path", "priority", "is_active"});
  has("service_instances",
      {"service_name", "instance_url", "instance_id", "weight", "is_healthy", "health_check_path",
       "health_check_interval", "last_health_check", "failure_count", "metadata"});
  has("rate_limit_records", {"identifier", "window_type", "route_path", "request_count",
                             "window_start", "window_end", "created_at", "updated_at"});
  has("circuit_breaker_states", {"service_name", "state", "failure_count", "success_count",
                                 "last_failure_time", "last_state_change"});
  has("audit_logs",
      {"event_type", "user_id", "ip_address", "user_agent", "details", "request_id", "created_at"});
  has("gateway_logs", {"request_id", "method", "path", "route", "target_service", "user_id",
                       "client_ip", "status_code", "response_time_ms", "error_code", "created_at"});
  has("rate_limit_rules", {"rule_name", "limit_type", "path_pattern", "max_requests",
                           "window_seconds", "burst", "is_active"});
  EXPECT_EQ(columns("api_keys").find(",api_key,"), std::string::npos);

  auto unique_key = [&](const std::string& table) {
    auto r = rows(
        "SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) FROM "
        "information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '" +
        table + "' AND non_unique = 0 AND index_name <> 'PRIMARY' GROUP BY index_name");
    std::set<std::string> keys;
    for (auto& row : r.rows) keys.insert(*row[1]);
    return keys;
  };
  EXPECT_TRUE(unique_key("routes").count("path,methods"));
  EXPECT_TRUE(unique_key("service_instances").count("service_name,instance_url"));
  EXPECT_TRUE(
      unique_key("rate_limit_records").count("identifier,window_type,route_path,window_start"));
  EXPECT_TRUE(unique_key("circuit_breaker_states").count("service_name"));
  EXPECT_TRUE(unique_key("rate_limit_rules").count("rule_name"));
  EXPECT_TRUE(unique_key("gateway_logs").count("request_id"));
  EXPECT_TRUE(unique_key("api_keys").count("api_key_hash"));

  // limit_type is constrained to the documented values.
  auto bad = db_->execute(
      "INSERT INTO rate_limit_rules (rule_name, limit_type, max_requests, window_seconds) "
      "VALUES ('r', 'per_planet', 1, 60)");
  EXPECT_TRUE(bad.has_value());
  EXPECT_FALSE(db_->execute("INSERT INTO rate_limit_rules (rule_name, limit_type, max_requests, "
                            "window_seconds, burst) VALUES ('r', 'per_ip', 1, 60, 5)")
                   .has_value());
}

TEST_F(SchemaTest, RunsWithTheCommandLineClientTwice) {
  const auto file = std::string(GATEWAYD_SOURCE_DIR) + "/scripts/database/init_database.sql";
  for (int i = 0; i < 2; ++i) {
    std::string out;
    ExitStatus s = server_->client({}, &out, file);
    ASSERT_TRUE(s.success()) << out;
  }
  EXPECT_EQ(server_->sql("SELECT version FROM gateway_db.schema_version ORDER BY version"),
            "1\n2\n");
  EXPECT_EQ(server_->sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                         "'gateway_db'"),
            "11\n");
  // And --init-db on top of what the client created changes nothing.
  MySqlOptions o = options_;
  o.database = "gateway_db";
  EXPECT_EQ(persistence::init_database(o).schema_version, 2);
}

constexpr const char* kV2LogIndexes =
    "idx_gateway_logs_created(created_at) idx_gateway_logs_route(route,created_at) "
    "idx_gateway_logs_user(user_id,created_at) PRIMARY(id) uk_gateway_logs_request_id(request_id)";

TEST_F(SchemaTest, GatewayLogsHasOnlyTheIndexesTheQueriesNeed) {
  EXPECT_EQ(log_indexes(), kV2LogIndexes);
}

TEST_F(SchemaTest, MigratesAVersion1DatabaseAndKeepsItsRows) {
  // A version-1 database: the two extra indexes, version 1 only, and rows in gateway_logs.
  ASSERT_FALSE(db_->execute("ALTER TABLE gateway_logs "
                            "ADD KEY idx_gateway_logs_service (target_service, created_at), "
                            "ADD KEY idx_gateway_logs_status (status_code, created_at)")
                   .has_value());
  ASSERT_FALSE(db_->execute("DELETE FROM schema_version WHERE version > 1").has_value());
  ASSERT_FALSE(db_->execute("INSERT INTO gateway_logs (request_id, method, path, status_code, "
                            "created_at) VALUES ('old-1', 'GET', '/a', 200, NOW(3)), "
                            "('old-2', 'GET', '/b', 503, NOW(3))")
                   .has_value());
  ASSERT_NE(log_indexes(), kV2LogIndexes);

  for (int run = 0; run < 2; ++run) {  // the second run finds nothing left to drop
    auto result = persistence::init_database(options_);
    EXPECT_EQ(result.schema_version, 2) << "run " << run;
    EXPECT_EQ(log_indexes(), kV2LogIndexes) << "run " << run;
  }
  EXPECT_EQ(count("schema_version"), 2);
  EXPECT_EQ(count("gateway_logs"), 2);
  // The unique key still refuses a duplicate request id after the migration.
  auto dup = db_->execute(
      "INSERT INTO gateway_logs (request_id, method, path, status_code, created_at) "
      "VALUES ('old-1', 'GET', '/a', 200, NOW(3))");
  EXPECT_TRUE(dup.has_value());
}

TEST_F(SchemaTest, MigratesWithTheCommandLineClient) {
  const auto file = std::string(GATEWAYD_SOURCE_DIR) + "/scripts/database/init_database.sql";
  std::string out;
  ASSERT_TRUE(server_->client({}, &out, file).success()) << out;
  server_->sql(
      "ALTER TABLE gateway_db.gateway_logs "
      "ADD KEY idx_gateway_logs_status (status_code, created_at); "
      "DELETE FROM gateway_db.schema_version WHERE version > 1");
  EXPECT_EQ(server_->sql("SELECT COUNT(*) FROM information_schema.statistics WHERE "
                         "table_schema = 'gateway_db' AND index_name = 'idx_gateway_logs_status'"),
            "2\n");
  ASSERT_TRUE(server_->client({}, &out, file).success()) << out;
  EXPECT_EQ(server_->sql("SELECT COUNT(*) FROM information_schema.statistics WHERE "
                         "table_schema = 'gateway_db' AND index_name LIKE 'idx_gateway_logs_s%'"),
            "0\n");
  EXPECT_EQ(server_->sql("SELECT version FROM gateway_db.schema_version ORDER BY version"),
            "1\n2\n");
}

TEST_F(SchemaTest, RejectsDatabaseNamesThatAreNotIdentifiers) {
  MySqlOptions o = options_;
  o.database = "x`; DROP DATABASE mysql; --";
  EXPECT_THROW(persistence::init_database(o), std::invalid_argument);
}

TEST_F(SchemaTest, ConnectionFailureNamesTheServerNotThePassword) {
  MySqlOptions o = options_;
  o.password = "wrong-password-value";
  try {
    persistence::init_database(o);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(std::to_string(o.port)), std::string::npos) << msg;
    EXPECT_EQ(msg.find("wrong-password-value"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace gatewayd::test
