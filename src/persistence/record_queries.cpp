#include "persistence/record_queries.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "clients/mysql_statement.hpp"

namespace gatewayd::persistence {
namespace {

constexpr const char* kLogColumns =
    "id, request_id, method, path, route, target_service, user_id, client_ip, status_code, "
    "response_time_ms, error_code, trace_id, node_id, "
    "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ')";

std::string text(const std::optional<std::string>& v) {
  return v ? *v : std::string();
}
std::uint64_t to_u64(const std::optional<std::string>& v) {
  return v ? std::strtoull(v->c_str(), nullptr, 10) : 0;
}
double to_double(const std::optional<std::string>& v) {
  return v ? std::strtod(v->c_str(), nullptr) : 0.0;
}

LogRow to_log_row(const std::vector<std::optional<std::string>>& r) {
  LogRow row;
  row.id = to_u64(r[0]);
  row.request_id = text(r[1]);
  row.method = text(r[2]);
  row.path = text(r[3]);
  row.route = text(r[4]);
  row.target_service = text(r[5]);
  row.user_id = text(r[6]);
  row.client_ip = text(r[7]);
  row.status_code = static_cast<unsigned>(to_u64(r[8]));
  row.response_time_ms = to_double(r[9]);
  row.error_code = text(r[10]);
  row.trace_id = text(r[11]);
  row.node_id = text(r[12]);
  row.created_at = text(r[13]);
  // %f gives microseconds; keep milliseconds ("...:05.123456Z" -> "...:05.123Z").
  if (row.created_at.size() == 27) {
    row.created_at.erase(23, 3);
  }
  return row;
}

std::string upper(std::string s) {
  for (char& ch : s) {
    if (ch >= 'a' && ch <= 'z') {
      ch = static_cast<char>(ch - 'a' + 'A');
    }
  }
  return s;
}

// LIKE pattern for a literal prefix, escaped with '!' (used with ESCAPE '!': unlike backslash,
// it means the same whatever the server's sql_mode).
std::string like_prefix(std::string_view prefix) {
  std::string out;
  for (char ch : prefix) {
    if (ch == '%' || ch == '_' || ch == '!') {
      out.push_back('!');
    }
    out.push_back(ch);
  }
  out.push_back('%');
  return out;
}

double nearest_rank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

RecordQueries::RecordQueries(MySqlOptions options) : connection_(std::move(options)) {}

template <class Fn>
auto RecordQueries::with_connection(Fn&& fn) -> decltype(fn(std::declval<MySqlConnection&>())) {
  using R = decltype(fn(std::declval<MySqlConnection&>()));
  std::lock_guard lock(mutex_);
  for (int attempt = 0;; ++attempt) {
    if (!connection_.connected()) {
      if (auto e = connection_.connect()) {
        return R::failure(std::move(*e));
      }
    }
    R result = fn(connection_);
    // A connection that timed out idle is only noticed on first use: retry once on a fresh one.
    if (result.ok() || attempt > 0 || !result.error->connection_lost()) {
      return result;
    }
  }
}

MySqlResult<LogPage> RecordQueries::logs(const LogFilter& f) {
  using R = MySqlResult<LogPage>;
  const std::string method = upper(f.method);
  const bool path_prefix = !f.path.empty() && f.path.back() == '*';
  const std::string path =
      path_prefix ? like_prefix(std::string_view(f.path).substr(0, f.path.size() - 1)) : f.path;
  std::string where = " WHERE 1=1";
  if (!method.empty()) where += " AND method = ?";
  if (!f.path.empty()) where += path_prefix ? " AND path LIKE ? ESCAPE '!'" : " AND path = ?";
  if (!f.route.empty()) where += " AND route = ?";
  if (!f.service.empty()) where += " AND target_service = ?";
  if (!f.user_id.empty()) where += " AND user_id = ?";
  if (f.status_code) where += " AND status_code = ?";
  if (f.start) where += " AND created_at >= ?";
  if (f.end) where += " AND created_at < ?";
  auto bind_filter = [&](MySqlStatement& st) {
    if (!method.empty()) st.bind_text(method);
    if (!f.path.empty()) st.bind_text(path);
    if (!f.route.empty()) st.bind_text(f.route);
    if (!f.service.empty()) st.bind_text(f.service);
    if (!f.user_id.empty()) st.bind_text(f.user_id);
    if (f.status_code) st.bind_uint(*f.status_code);
    if (f.start) st.bind_time(*f.start);
    if (f.end) st.bind_time(*f.end);
  };
  const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, kMaxLimit);
  return with_connection([&](MySqlConnection& c) -> R {
    auto list = c.prepare(std::string("SELECT ") + kLogColumns + " FROM gateway_logs" + where +
                          " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?");
    if (!list.ok()) return R::failure(std::move(*list.error));
    bind_filter(*list.value);
    list.value->bind_uint(limit).bind_uint(f.offset);
    auto rows = list.value->query();
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    auto count = c.prepare("SELECT COUNT(*) FROM gateway_logs" + where);
    if (!count.ok()) return R::failure(std::move(*count.error));
    bind_filter(*count.value);
    auto total = count.value->query();
    if (!total.ok()) return R::failure(std::move(*total.error));
    R out;
    for (const auto& r : rows.value.rows) {
      out.value.rows.push_back(to_log_row(r));
    }
    out.value.total = total.value.rows.empty() ? 0 : to_u64(total.value.rows[0][0]);
    return out;
  });
}

MySqlResult<std::vector<LogRow>> RecordQueries::errors(std::size_t limit) {
  using R = MySqlResult<std::vector<LogRow>>;
  limit = std::clamp<std::size_t>(limit, 1, kMaxLimit);
  return with_connection([&](MySqlConnection& c) -> R {
    auto st = c.prepare(std::string("SELECT ") + kLogColumns +
                        " FROM gateway_logs WHERE status_code >= 400"
                        " ORDER BY created_at DESC, id DESC LIMIT ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    st.value->bind_uint(limit);
    auto rows = st.value->query();
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    R out;
    for (const auto& r : rows.value.rows) {
      out.value.push_back(to_log_row(r));
    }
    return out;
  });
}

MySqlResult<TrafficStats> RecordQueries::stats(std::chrono::hours window) {
  using R = MySqlResult<TrafficStats>;
  const auto since = std::chrono::system_clock::now() - window;
  return with_connection([&](MySqlConnection& c) -> R {
    R out;
    out.value.window = window;
    auto run = [&](const std::string& sql) -> MySqlResult<MySqlRows> {
      auto st = c.prepare(sql);
      if (!st.ok()) return MySqlResult<MySqlRows>::failure(std::move(*st.error));
      st.value->bind_time(since);
      return st.value->query();
    };
    auto totals =
        run("SELECT COUNT(*), COALESCE(SUM(status_code >= 400), 0), "
            "COALESCE(SUM(status_code >= 500), 0), COALESCE(AVG(response_time_ms), 0) "
            "FROM gateway_logs WHERE created_at >= ?");
    if (!totals.ok()) return R::failure(std::move(*totals.error));
    if (!totals.value.rows.empty()) {
      const auto& r = totals.value.rows[0];
      out.value.total = to_u64(r[0]);
      out.value.errors = to_u64(r[1]);
      out.value.server_errors = to_u64(r[2]);
      out.value.avg_response_ms = to_double(r[3]);
      if (out.value.total > 0) {
        out.value.error_rate =
            static_cast<double>(out.value.errors) / static_cast<double>(out.value.total);
      }
    }
    auto grouped = [&](const char* key, std::vector<GroupStats>& into,
                       const char* limit) -> std::optional<MySqlError> {
      auto rows = run(std::string("SELECT ") + key +
                      " AS k, COUNT(*) AS n, COALESCE(SUM(status_code >= 400), 0), "
                      "AVG(response_time_ms) FROM gateway_logs WHERE created_at >= ? GROUP BY k "
                      "ORDER BY n DESC, k" +
                      limit);
      if (!rows.ok()) return std::move(rows.error);
      for (const auto& r : rows.value.rows) {
        into.push_back(GroupStats{text(r[0]), to_u64(r[1]), to_u64(r[2]), to_double(r[3])});
      }
      return std::nullopt;
    };
    // Route and service names come from configuration: their number is bounded.
    if (auto e = grouped("route", out.value.by_route, "")) return R::failure(std::move(*e));
    if (auto e = grouped("target_service", out.value.by_service, "")) {
      return R::failure(std::move(*e));
    }
    const std::string top = " LIMIT " + std::to_string(kTopEndpoints);
    if (auto e = grouped("CONCAT(method, ' ', path)", out.value.top_endpoints, top.c_str())) {
      return R::failure(std::move(*e));
    }
    auto statuses =
        run("SELECT status_code, COUNT(*) FROM gateway_logs WHERE created_at >= ? "
            "GROUP BY status_code ORDER BY status_code");
    if (!statuses.ok()) return R::failure(std::move(*statuses.error));
    for (const auto& r : statuses.value.rows) {
      out.value.by_status.emplace_back(static_cast<unsigned>(to_u64(r[0])), to_u64(r[1]));
    }
    return out;
  });
}

MySqlResult<std::vector<RoutePerformance>> RecordQueries::performance(std::chrono::hours window,
                                                                      std::size_t max_samples) {
  using R = MySqlResult<std::vector<RoutePerformance>>;
  const auto since = std::chrono::system_clock::now() - window;
  max_samples = std::max<std::size_t>(max_samples, 1);
  return with_connection([&](MySqlConnection& c) -> R {
    auto st = c.prepare(
        "SELECT route, response_time_ms FROM gateway_logs WHERE created_at >= ? "
        "ORDER BY created_at DESC LIMIT ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    st.value->bind_time(since).bind_uint(max_samples);
    auto rows = st.value->query();
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    std::map<std::string, std::vector<double>> samples;
    for (const auto& r : rows.value.rows) {
      samples[text(r[0])].push_back(to_double(r[1]));
    }
    R out;
    for (auto& [route, values] : samples) {
      std::sort(values.begin(), values.end());
      RoutePerformance p;
      p.route = route;
      p.samples = values.size();
      double sum = 0;
      for (double v : values) sum += v;
      p.avg = sum / static_cast<double>(values.size());
      p.p50 = nearest_rank(values, 50);
      p.p90 = nearest_rank(values, 90);
      p.p95 = nearest_rank(values, 95);
      p.p99 = nearest_rank(values, 99);
      p.max = values.back();
      out.value.push_back(std::move(p));
    }
    return out;
  });
}

}  // namespace gatewayd::persistence
