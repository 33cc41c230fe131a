#pragma once
// Read side of the request log for the admin API: filtered listings, traffic statistics and
// latency percentiles over gateway_logs. Blocking (call it off the event loop); thread-safe (one
// connection behind a mutex, reconnected on demand). Every listing is bounded by kMaxLimit rows
// and percentiles by a sample cap, so a query cannot pull an unbounded table into memory.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "clients/mysql_connection.hpp"

namespace gatewayd::persistence {

struct LogFilter {
  std::string method;   // exact, case-insensitive (stored upper-case)
  std::string path;     // exact, or a prefix when it ends with '*'
  std::string route;    // route name, exact
  std::string service;  // target_service, exact
  std::string user_id;  // exact
  std::optional<unsigned> status_code;
  std::optional<std::chrono::system_clock::time_point> start, end;  // [start, end)
  std::size_t limit = 100;                                          // clamped to [1, kMaxLimit]
  std::size_t offset = 0;
};

struct LogRow {
  std::uint64_t id = 0;
  std::string request_id, method, path, route, target_service, user_id, client_ip, error_code,
      trace_id, node_id;
  unsigned status_code = 0;
  double response_time_ms = 0;
  std::string created_at;  // ISO 8601 UTC, millisecond precision: 2024-05-01T12:00:00.123Z
};

struct LogPage {
  std::vector<LogRow> rows;
  std::uint64_t total = 0;  // rows matching the filter, ignoring limit/offset
};

struct GroupStats {
  std::string key;
  std::uint64_t count = 0;
  std::uint64_t errors = 0;  // status >= 400
  double avg_response_ms = 0;
};

struct TrafficStats {
  std::chrono::hours window{24};
  std::uint64_t total = 0;
  std::uint64_t errors = 0;         // status >= 400
  std::uint64_t server_errors = 0;  // status >= 500
  double error_rate = 0;            // errors / total, 0 when no traffic
  double avg_response_ms = 0;
  std::vector<GroupStats> by_route, by_service;               // by count, descending
  std::vector<std::pair<unsigned, std::uint64_t>> by_status;  // by status code
  std::vector<GroupStats> top_endpoints;  // method + " " + path, top kTopEndpoints
};

struct RoutePerformance {
  std::string route;
  std::uint64_t samples = 0;
  double avg = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;  // milliseconds
};

class RecordQueries {
 public:
  static constexpr std::size_t kMaxLimit = 1000;
  static constexpr std::size_t kTopEndpoints = 10;
  static constexpr std::size_t kDefaultMaxSamples = 200'000;

  explicit RecordQueries(MySqlOptions options);

  MySqlResult<LogPage> logs(const LogFilter& filter);
  // Most recent requests with status >= 400, newest first.
  MySqlResult<std::vector<LogRow>> errors(std::size_t limit);
  MySqlResult<TrafficStats> stats(std::chrono::hours window);
  // Nearest-rank percentiles per route over the window, from at most max_samples most recent
  // requests.
  MySqlResult<std::vector<RoutePerformance>> performance(
      std::chrono::hours window, std::size_t max_samples = kDefaultMaxSamples);

 private:
  // Runs `fn(connection)` with a connected connection; retries once after a lost connection.
  template <class Fn>
  auto with_connection(Fn&& fn) -> decltype(fn(std::declval<MySqlConnection&>()));

  std::mutex mutex_;
  MySqlConnection connection_;
};

}  // namespace gatewayd::persistence
