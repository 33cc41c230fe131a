#pragma once
// A real mariadbd with the gatewayd schema applied, shared by the tests of one suite, and a
// direct connection for assertions.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "clients/mysql_connection.hpp"
#include "persistence/schema.hpp"
#include "support/mariadb_server.hpp"

namespace gatewayd::test {

inline MySqlOptions mysql_options_for(const MariaDbServer& server, std::string database) {
  MySqlOptions o;
  o.host = server.host();
  o.port = server.port();
  o.user = server.user();
  o.password = server.password();
  o.database = std::move(database);
  o.connect_timeout = std::chrono::seconds(2);
  o.read_timeout = std::chrono::seconds(10);
  o.write_timeout = std::chrono::seconds(10);
  return o;
}

// One server per suite; every test gets its own freshly created database.
class MySqlTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() { server_ = std::make_unique<MariaDbServer>(); }
  static void TearDownTestSuite() { server_.reset(); }

 protected:
  void SetUp() override {
    if (!server_->running()) {
      server_->start();
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    database_ = std::string("t_") + std::to_string(++counter_) + "_" + info->name();
    database_ = database_.substr(0, 60);
    for (char& ch : database_) {
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    options_ = mysql_options_for(*server_, database_);
    persistence::init_database(options_);
    db_ = std::make_unique<MySqlConnection>(options_);
    ASSERT_FALSE(db_->connect().has_value());
  }
  void TearDown() override { db_.reset(); }

  // First column of the first row as text ("" for no row or NULL).
  std::string scalar(const std::string& sql) {
    MySqlRows r = rows(sql);
    if (r.rows.empty() || !r.rows[0][0]) return "";
    return *r.rows[0][0];
  }
  long count(const std::string& table, const std::string& where = "1=1") {
    return std::stol("0" + scalar("SELECT COUNT(*) FROM " + table + " WHERE " + where));
  }
  // Runs a query on the test's own connection (reconnecting once if a restart of the server
  // dropped it).
  MySqlRows rows(const std::string& sql) {
    for (int attempt = 0;; ++attempt) {
      if (!db_->connected()) {
        auto e = db_->connect();
        EXPECT_FALSE(e.has_value()) << e->describe();
      }
      auto r = db_->query(sql);
      if (!r.ok() && r.error->connection_lost() && attempt == 0) continue;
      EXPECT_TRUE(r.ok()) << (r.error ? r.error->describe() : "") << " in " << sql;
      return r.value;
    }
  }
  // Polls `done` until it holds or `timeout` passes.
  template <class Fn>
  static bool eventually(Fn&& done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  static inline std::unique_ptr<MariaDbServer> server_;
  static inline int counter_ = 0;
  std::string database_;
  MySqlOptions options_;
  std::unique_ptr<MySqlConnection> db_;
};

}  // namespace gatewayd::test
