// MySqlStatement::execute_bulk against a real mariadbd: one command inserts every parameter set,
// NULLs travel per value, a failing row undoes the whole statement, and the statement keeps
// working for single executions afterwards.
#include <gtest/gtest.h>

#include "clients/mysql_statement.hpp"
#include "mysql_fixture.hpp"

namespace gatewayd::test {
namespace {

using namespace std::chrono_literals;

class MySqlBulkTest : public MySqlTest {
 protected:
  void SetUp() override {
    MySqlTest::SetUp();
    ASSERT_FALSE(db_->execute("CREATE TABLE bulk_t (id INT UNSIGNED NOT NULL PRIMARY KEY, "
                              "name VARCHAR(64) NULL, delta BIGINT NULL, ratio DOUBLE NULL, "
                              "at DATETIME(6) NULL, note VARCHAR(16) NULL)")
                     .has_value());
    auto prepared =
        db_->prepare("INSERT INTO bulk_t (id, name, delta, ratio, at, note) VALUES (?,?,?,?,?,?)");
    ASSERT_TRUE(prepared.ok()) << prepared.error->describe();
    st_ = std::move(prepared.value);
  }
  void TearDown() override {
    st_.reset();
    MySqlTest::TearDown();
  }
  std::vector<std::string> table() {
    std::vector<std::string> out;
    auto got = rows(
        "SELECT id, COALESCE(name, '-'), COALESCE(delta, '-'), COALESCE(ratio, '-'), "
        "COALESCE(DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), '-'), COALESCE(note, '-') "
        "FROM bulk_t ORDER BY id");
    for (const auto& r : got.rows) {
      std::string line;
      for (const auto& v : r) line += (line.empty() ? "" : " ") + v.value_or("?");
      out.push_back(line);
    }
    return out;
  }
  std::unique_ptr<MySqlStatement> st_;
};

std::chrono::system_clock::time_point at(std::int64_t unix_seconds, int us = 0) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)) +
         std::chrono::microseconds(us);
}

TEST_F(MySqlBulkTest, MariaDbAdvertisesBulkExecution) {
  EXPECT_TRUE(db_->supports_bulk());
  db_->close();
  EXPECT_FALSE(db_->supports_bulk());
}

TEST_F(MySqlBulkTest, EveryParameterSetBecomesARow) {
  // Row 1 starts two columns with NULL (the column's kind comes from a later row), the last
  // column is NULL throughout, and the unsigned value is past INT64_MAX's half.
  st_->bind_uint(1)
      .bind_null()
      .bind_int(-5)
      .bind_null()
      .bind_time(at(1'700'000'000, 250))
      .bind_null();
  st_->bind_uint(2).bind_text("two").bind_null().bind_double(0.5).bind_null().bind_null();
  st_->bind_uint(3)
      .bind_text("")
      .bind_int(9'000'000'000)
      .bind_double(-2.25)
      .bind_time(at(0))
      .bind_null();
  ASSERT_FALSE(st_->execute_bulk(3).has_value());
  EXPECT_EQ(st_->affected_rows(), 3u);
  EXPECT_EQ(table(), (std::vector<std::string>{
                         "1 - -5 - 2023-11-14 22:13:20.000250 -",
                         "2 two - 0.5 - -",
                         "3  9000000000 -2.25 1970-01-01 00:00:00.000000 -",
                     }));
}

TEST_F(MySqlBulkTest, ManyRowsInOneCommandAndSingleExecutionsAfterwards) {
  constexpr int kRows = 1000;
  std::vector<std::string> names;
  names.reserve(kRows);  // bound views must not move
  for (int i = 0; i < kRows; ++i) {
    names.push_back("name-" + std::to_string(i) +
                    std::string(static_cast<std::size_t>(i % 40), 'x'));
    st_->bind_uint(static_cast<std::uint64_t>(i + 10))
        .bind_text(names.back())
        .bind_int(i)
        .bind_double(i / 4.0)
        .bind_time(at(1'700'000'000 + i))
        .bind_text_or_null(i % 2 == 0 ? "even" : "");
  }
  ASSERT_FALSE(st_->execute_bulk(kRows).has_value());
  EXPECT_EQ(count("bulk_t"), kRows);
  EXPECT_EQ(count("bulk_t", "note IS NULL"), kRows / 2);
  EXPECT_EQ(scalar("SELECT CONCAT(name, ' ', delta, ' ', ratio, ' ', at) FROM bulk_t "
                   "WHERE id = 1009"),
            "name-999" + std::string(39, 'x') + " 999 249.75 2023-11-14 22:29:59.000000");
  // The same statement runs one parameter set again (the array size was reset).
  st_->bind_uint(5).bind_text("single").bind_null().bind_null().bind_null().bind_null();
  ASSERT_FALSE(st_->execute().has_value());
  EXPECT_EQ(st_->affected_rows(), 1u);
  EXPECT_EQ(count("bulk_t"), kRows + 1);
}

TEST_F(MySqlBulkTest, AFailingRowUndoesTheWholeStatement) {
  // Under autocommit the statement is atomic: the duplicate key of the third set must not leave
  // the first two behind, and the error is the server's.
  st_->bind_uint(1).bind_text("a").bind_null().bind_null().bind_null().bind_null();
  st_->bind_uint(2).bind_text("b").bind_null().bind_null().bind_null().bind_null();
  st_->bind_uint(1).bind_text("c").bind_null().bind_null().bind_null().bind_null();
  auto e = st_->execute_bulk(3);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 1062u) << e->describe();  // ER_DUP_ENTRY
  EXPECT_EQ(count("bulk_t"), 0);
  EXPECT_TRUE(db_->connected());
}

TEST_F(MySqlBulkTest, MisboundParametersAreRefusedBeforeAnythingIsSent) {
  // Not a whole number of parameter sets.
  st_->bind_uint(1).bind_text("a").bind_null().bind_null().bind_null().bind_null();
  st_->bind_uint(2);
  auto e = st_->execute_bulk(2);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message.find("parameters"), std::string::npos) << e->describe();
  // A column whose values change kind (text, then a number).
  st_->bind_uint(1).bind_text("a").bind_null().bind_null().bind_null().bind_null();
  st_->bind_uint(2).bind_int(7).bind_null().bind_null().bind_null().bind_null();
  e = st_->execute_bulk(2);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message.find("kind"), std::string::npos) << e->describe();
  EXPECT_EQ(count("bulk_t"), 0);
  // The statement is still usable.
  st_->bind_uint(1).bind_text("a").bind_null().bind_null().bind_null().bind_null();
  st_->bind_uint(2).bind_text("b").bind_null().bind_null().bind_null().bind_null();
  EXPECT_FALSE(st_->execute_bulk(2).has_value());
  EXPECT_EQ(count("bulk_t"), 2);
}

}  // namespace
}  // namespace gatewayd::test
