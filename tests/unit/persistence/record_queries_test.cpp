// Admin-side queries over gateway_logs against a real mariadbd.
#include "persistence/record_queries.hpp"

#include <gtest/gtest.h>

#include "mysql_fixture.hpp"
#include "persistence/mysql_writer.hpp"

namespace gatewayd::test {
namespace {

using namespace std::chrono_literals;
using persistence::LogFilter;
using persistence::RecordQueries;

class RecordQueriesTest : public MySqlTest {
 protected:
  void SetUp() override {
    MySqlTest::SetUp();
    const auto now = std::chrono::system_clock::now();
    std::vector<Record> batch;
    auto add = [&](std::string id, std::string method, std::string path, std::string route,
                   std::string service, std::string user, unsigned status, double ms,
                   SystemTime at) {
      RequestRecord r;
      r.request_id = std::move(id);
      r.method = std::move(method);
      r.path = std::move(path);
      r.route = std::move(route);
      r.target_service = std::move(service);
      r.user_id = std::move(user);
      r.client_ip = "10.0.0.1";
      r.status_code = status;
      r.response_time_ms = ms;
      r.created_at = at;
      if (status >= 500) r.error_code = "BAD_GATEWAY";
      batch.push_back(r);
    };
    // 10 requests on "items" (1..10 ms), 4 on "users" with two errors, 1 old one.
    for (int i = 1; i <= 10; ++i) {
      add("i" + std::to_string(i), "GET", "/items/" + std::to_string(i), "items", "item-svc",
          i % 2 ? "alice" : "bob", 200, i, now - std::chrono::minutes(i));
    }
    add("u1", "GET", "/users/1", "users", "user-svc", "alice", 200, 20, now - 1min);
    add("u2", "POST", "/users", "users", "user-svc", "alice", 201, 30, now - 2min);
    add("u3", "GET", "/users/2", "users", "user-svc", "", 404, 5, now - 3min);
    add("u4", "DELETE", "/users/3", "users", "user-svc", "bob", 502, 40, now - 4min);
    add("old", "GET", "/items/1", "items", "item-svc", "alice", 500, 99, now - 48h);
    persistence::MySqlWriter writer(options_, "n1");
    ASSERT_FALSE(writer.connect().has_value());
    ASSERT_FALSE(writer.write(batch).has_value());
    queries_ = std::make_unique<RecordQueries>(options_);
  }
  std::unique_ptr<RecordQueries> queries_;
};

std::vector<std::string> ids(const std::vector<persistence::LogRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.request_id);
  return out;
}

TEST_F(RecordQueriesTest, ListsNewestFirstWithFiltersAndPaging) {
  LogFilter all;
  auto page = queries_->logs(all);
  ASSERT_TRUE(page.ok()) << page.error->describe();
  EXPECT_EQ(page.value.total, 15u);
  EXPECT_EQ(page.value.rows.size(), 15u);
  EXPECT_EQ(page.value.rows.back().request_id, "old");
  const auto& first = page.value.rows.front();
  EXPECT_TRUE(first.request_id == "i1" || first.request_id == "u1");
  EXPECT_EQ(first.created_at.size(), 24u);  // 2024-05-01T12:00:00.123Z
  EXPECT_EQ(first.created_at.back(), 'Z');

  LogFilter f;
  f.service = "user-svc";
  f.method = "get";  // case-insensitive
  EXPECT_EQ(ids(queries_->logs(f).value.rows), (std::vector<std::string>{"u1", "u3"}));

  f = {};
  f.user_id = "bob";
  f.route = "items";
  EXPECT_EQ(queries_->logs(f).value.total, 5u);

  f = {};
  f.status_code = 502;
  auto err = queries_->logs(f);
  ASSERT_EQ(err.value.rows.size(), 1u);
  EXPECT_EQ(err.value.rows[0].error_code, "BAD_GATEWAY");
  EXPECT_EQ(err.value.rows[0].node_id, "n1");

  f = {};
  f.path = "/users*";  // prefix
  EXPECT_EQ(queries_->logs(f).value.total, 4u);
  f.path = "/users";  // exact
  EXPECT_EQ(ids(queries_->logs(f).value.rows), (std::vector<std::string>{"u2"}));
  f.path = "/users_%*";  // LIKE wildcards are literal
  EXPECT_EQ(queries_->logs(f).value.total, 0u);

  f = {};
  f.start = std::chrono::system_clock::now() - 24h;
  f.limit = 4;
  f.offset = 4;
  auto paged = queries_->logs(f);
  EXPECT_EQ(paged.value.total, 14u);
  EXPECT_EQ(paged.value.rows.size(), 4u);

  f = {};
  f.end = std::chrono::system_clock::now() - 24h;
  EXPECT_EQ(ids(queries_->logs(f).value.rows), (std::vector<std::string>{"old"}));
}

TEST_F(RecordQueriesTest, RecentErrors) {
  auto errors = queries_->errors(10);
  ASSERT_TRUE(errors.ok());
  EXPECT_EQ(ids(errors.value), (std::vector<std::string>{"u3", "u4", "old"}));
  EXPECT_EQ(queries_->errors(1).value.size(), 1u);
}

TEST_F(RecordQueriesTest, StatsOverAWindow) {
  auto st = queries_->stats(24h);
  ASSERT_TRUE(st.ok()) << st.error->describe();
  const auto& s = st.value;
  EXPECT_EQ(s.total, 14u);
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(s.server_errors, 1u);
  EXPECT_NEAR(s.error_rate, 2.0 / 14.0, 1e-9);
  EXPECT_NEAR(s.avg_response_ms, (55.0 + 95.0) / 14.0, 1e-6);
  ASSERT_EQ(s.by_route.size(), 2u);
  EXPECT_EQ(s.by_route[0].key, "items");
  EXPECT_EQ(s.by_route[0].count, 10u);
  EXPECT_EQ(s.by_route[1].errors, 2u);
  ASSERT_EQ(s.by_service.size(), 2u);
  EXPECT_EQ(s.by_service[1].key, "user-svc");
  ASSERT_EQ(s.by_status.size(), 4u);
  EXPECT_EQ(s.by_status[0], (std::pair<unsigned, std::uint64_t>{200, 11}));
  EXPECT_LE(s.top_endpoints.size(), RecordQueries::kTopEndpoints);
  EXPECT_EQ(queries_->stats(72h).value.total, 15u);
}

TEST_F(RecordQueriesTest, PercentilesPerRoute) {
  auto perf = queries_->performance(24h);
  ASSERT_TRUE(perf.ok()) << perf.error->describe();
  ASSERT_EQ(perf.value.size(), 2u);
  const auto& items = perf.value[0];
  EXPECT_EQ(items.route, "items");
  EXPECT_EQ(items.samples, 10u);
  EXPECT_DOUBLE_EQ(items.p50, 5);
  EXPECT_DOUBLE_EQ(items.p90, 9);
  EXPECT_DOUBLE_EQ(items.p95, 10);
  EXPECT_DOUBLE_EQ(items.p99, 10);
  EXPECT_DOUBLE_EQ(items.max, 10);
  EXPECT_DOUBLE_EQ(items.avg, 5.5);
  // The sample cap keeps the most recent requests.
  auto capped = queries_->performance(24h, 2);
  std::uint64_t n = 0;
  for (const auto& p : capped.value) n += p.samples;
  EXPECT_EQ(n, 2u);
}

TEST_F(RecordQueriesTest, ReconnectsAfterTheServerRestarted) {
  ASSERT_TRUE(queries_->errors(5).ok());
  server_->stop();
  auto down = queries_->errors(5);
  EXPECT_FALSE(down.ok());
  server_->start();
  auto up = queries_->errors(5);
  EXPECT_TRUE(up.ok()) << up.error->describe();
}

}  // namespace
}  // namespace gatewayd::test
