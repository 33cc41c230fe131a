#include "admin/observability_api.hpp"

#include <charconv>

#include "filters/auth/api_key_store.hpp"
#include "persistence/record_queries.hpp"

namespace gatewayd::admin {
namespace {

using nlohmann::json;
using persistence::RecordQueries;

constexpr std::int64_t kMaxHours = 24 * 366;

// Reads query parameters, collecting a FieldError per bad one.
class QueryReader {
 public:
  explicit QueryReader(const AdminRequest& req) : req_(req) {}

  // The first of `names` given (aliases); nullopt when none is.
  std::optional<std::string> text(std::initializer_list<const char*> names) const {
    for (const char* n : names) {
      if (auto v = req_.query_param(n); v && !v->empty()) return v;
    }
    return std::nullopt;
  }

  std::optional<std::int64_t> integer(std::initializer_list<const char*> names, std::int64_t min,
                                      std::int64_t max) {
    const auto v = text(names);
    if (!v) return std::nullopt;
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size() || out < min || out > max) {
      errors_.push_back({*names.begin(), "expected an integer from " + std::to_string(min) +
                                             " to " + std::to_string(max)});
      return std::nullopt;
    }
    return out;
  }

  std::optional<SystemTime> time(std::initializer_list<const char*> names) {
    const auto v = text(names);
    if (!v) return std::nullopt;
    auto t = auth::parse_timestamp(*v);
    if (!t) {
      errors_.push_back(
          {*names.begin(), "expected an ISO 8601 time (2024-05-01T12:00:00Z) or epoch seconds"});
    }
    return t;
  }

  std::chrono::hours hours() {
    return std::chrono::hours(integer({"hours"}, 1, kMaxHours).value_or(24));
  }

  const std::vector<FieldError>& errors() const { return errors_; }

 private:
  const AdminRequest& req_;
  std::vector<FieldError> errors_;
};

json log_row_json(const persistence::LogRow& r) {
  const auto text_or_null = [](const std::string& s) { return s.empty() ? json() : json(s); };
  return {{"id", r.id},
          {"request_id", r.request_id},
          {"method", r.method},
          {"path", r.path},
          {"route", r.route},
          {"target_service", r.target_service},
          {"user_id", text_or_null(r.user_id)},
          {"client_ip", r.client_ip},
          {"status_code", r.status_code},
          {"response_time_ms", r.response_time_ms},
          {"error_code", text_or_null(r.error_code)},
          {"trace_id", text_or_null(r.trace_id)},
          {"node_id", text_or_null(r.node_id)},
          {"created_at", r.created_at}};
}

json groups_json(const std::vector<persistence::GroupStats>& groups, const char* key_name) {
  json out = json::array();
  for (const auto& g : groups) {
    out.push_back({{key_name, g.key},
                   {"count", g.count},
                   {"errors", g.errors},
                   {"avg_response_time_ms", g.avg_response_ms}});
  }
  return out;
}

class ObservabilityApi {
 public:
  explicit ObservabilityApi(std::shared_ptr<AdminContext> ctx) : ctx_(std::move(ctx)) {
    if (ctx_->deps().mysql) queries_ = std::make_unique<RecordQueries>(*ctx_->deps().mysql);
  }

  AdminResponse stats(const AdminRequest& req) const;
  AdminResponse logs(const AdminRequest& req) const;
  AdminResponse errors(const AdminRequest& req) const;
  AdminResponse performance(const AdminRequest& req) const;

 private:
  std::shared_ptr<AdminContext> ctx_;
  // RecordQueries is thread-safe; its own connection keeps long scans off the stores' one.
  std::unique_ptr<RecordQueries> queries_;
};

AdminResponse ObservabilityApi::stats(const AdminRequest& req) const {
  if (!queries_) return database_disabled();
  QueryReader q(req);
  const auto hours = q.hours();
  if (!q.errors().empty()) return bad_request(q.errors());
  auto result = queries_->stats(hours);
  if (!result.ok()) return database_error(*result.error);
  const auto& s = result.value;
  json by_status = json::object();
  for (const auto& [status, count] : s.by_status) by_status[std::to_string(status)] = count;
  return json_response(200, {{"hours", hours.count()},
                             {"total_requests", s.total},
                             {"errors", s.errors},
                             {"server_errors", s.server_errors},
                             {"error_rate", s.error_rate},
                             {"avg_response_time_ms", s.avg_response_ms},
                             {"by_route", groups_json(s.by_route, "route")},
                             {"by_service", groups_json(s.by_service, "service")},
                             {"by_status", by_status},
                             {"top_endpoints", groups_json(s.top_endpoints, "endpoint")}});
}

AdminResponse ObservabilityApi::logs(const AdminRequest& req) const {
  if (!queries_) return database_disabled();
  QueryReader q(req);
  persistence::LogFilter f;
  f.method = q.text({"method"}).value_or("");
  f.path = q.text({"path"}).value_or("");
  f.route = q.text({"route"}).value_or("");
  f.service = q.text({"service", "target_service"}).value_or("");
  f.user_id = q.text({"user", "user_id"}).value_or("");
  if (auto status = q.integer({"status", "status_code"}, 100, 599)) {
    f.status_code = static_cast<unsigned>(*status);
  }
  f.start = q.time({"from", "start_date"});
  f.end = q.time({"to", "end_date"});
  f.limit =
      static_cast<std::size_t>(q.integer({"limit"}, 1, RecordQueries::kMaxLimit).value_or(100));
  f.offset = static_cast<std::size_t>(q.integer({"offset"}, 0, 1'000'000'000).value_or(0));
  if (f.start && f.end && *f.end <= *f.start) {
    return bad_request({{"to", "must be later than from"}});
  }
  if (!q.errors().empty()) return bad_request(q.errors());
  auto page = queries_->logs(f);
  if (!page.ok()) return database_error(*page.error);
  json rows = json::array();
  for (const auto& r : page.value.rows) rows.push_back(log_row_json(r));
  return json_response(
      200, {{"logs", rows}, {"total", page.value.total}, {"limit", f.limit}, {"offset", f.offset}});
}

AdminResponse ObservabilityApi::errors(const AdminRequest& req) const {
  if (!queries_) return database_disabled();
  QueryReader q(req);
  const auto limit = q.integer({"limit"}, 1, RecordQueries::kMaxLimit).value_or(50);
  if (!q.errors().empty()) return bad_request(q.errors());
  auto rows = queries_->errors(static_cast<std::size_t>(limit));
  if (!rows.ok()) return database_error(*rows.error);
  json out = json::array();
  for (const auto& r : rows.value) out.push_back(log_row_json(r));
  return json_response(200, {{"errors", out}, {"count", out.size()}});
}

AdminResponse ObservabilityApi::performance(const AdminRequest& req) const {
  if (!queries_) return database_disabled();
  QueryReader q(req);
  const auto hours = q.hours();
  if (!q.errors().empty()) return bad_request(q.errors());
  auto result = queries_->performance(hours);
  if (!result.ok()) return database_error(*result.error);
  json routes = json::array();
  for (const auto& p : result.value) {
    routes.push_back({{"route", p.route},
                      {"samples", p.samples},
                      {"avg_ms", p.avg},
                      {"p50_ms", p.p50},
                      {"p90_ms", p.p90},
                      {"p95_ms", p.p95},
                      {"p99_ms", p.p99},
                      {"max_ms", p.max}});
  }
  return json_response(200, {{"hours", hours.count()}, {"routes", routes}});
}

}  // namespace

void register_observability_api(AdminServer& server, std::shared_ptr<AdminContext> context) {
  auto api = std::make_shared<const ObservabilityApi>(std::move(context));
  server.handle("GET", "/admin/stats", [api](const AdminRequest& r) { return api->stats(r); });
  server.handle("GET", "/admin/logs", [api](const AdminRequest& r) { return api->logs(r); });
  server.handle("GET", "/admin/errors", [api](const AdminRequest& r) { return api->errors(r); });
  server.handle("GET", "/admin/performance",
                [api](const AdminRequest& r) { return api->performance(r); });
}

}  // namespace gatewayd::admin
