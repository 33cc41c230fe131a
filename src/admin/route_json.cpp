#include "admin/route_json.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "config/cors_policy.hpp"

namespace gatewayd::admin {
namespace {

using nlohmann::json;

// The name the loader gives the request body in its messages ("route:1: routes[0] ...").
constexpr std::string_view kBodyName = "route";
constexpr std::string_view kBodyEntry = "route:1: routes[0]";
constexpr std::string_view kApiSourcePrefix = "admin-api routes.id=";

// Route fields stored in columns of their own; everything else goes to `extra`.
constexpr std::array<std::string_view, 11> kColumnFields = {
    "name",         "path",         "service", "methods",  "auth_required", "rate_limit",
    "strip_prefix", "rewrite_path", "rewrite", "priority", "timeout"};

constexpr std::array<std::string_view, 6> kReadOnlyFields = {
    "id", "source", "match_kind", "is_active", "created_at", "updated_at"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_sensitive_header(std::string_view name) {
  const std::string n = lower(name);
  for (std::string_view word :
       {"auth", "cookie", "token", "secret", "password", "passwd", "key", "credential"}) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

double seconds(std::chrono::milliseconds ms) {
  return static_cast<double>(ms.count()) / 1000.0;
}

std::string_view match_kind_name(MatchKind kind) {
  switch (kind) {
    case MatchKind::kExact:
      return "exact";
    case MatchKind::kPrefix:
      return "prefix";
    case MatchKind::kTemplate:
      return "template";
  }
  return "exact";
}

std::string path_text(const json& object) {
  if (!object.is_object()) return {};
  const auto it = object.find("path");
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->is_primitive() && !it->is_null() ? it->dump() : std::string();
}

}  // namespace

std::variant<RouteConfig, FieldError> parse_route_object(const json& object,
                                                         const std::vector<std::string>& services,
                                                         const ConfigDefaults& defaults) {
  if (!object.is_object()) return FieldError{"route", "expected a JSON object"};
  // The services only have to exist for this check: their instances do not matter here.
  json service_map = json::object();
  for (const auto& name : services) {
    if (name != "internal") service_map[name] = nullptr;
  }
  const json routes_doc = {{"routes", json::array({object})}};
  const json services_doc = {{"services", service_map}};
  try {
    auto config =
        parse_config(routes_doc.dump(), services_doc.dump(), defaults, kBodyName, "services");
    return config->routes.front();
  } catch (const ConfigError& e) {
    return field_error_from(e.what(), kBodyEntry, path_text(object));
  }
}

FieldError field_error_from(std::string_view message, std::string_view source,
                            std::string_view path) {
  std::string_view m = message;
  const auto whole = [&] {
    std::string_view rest = message;
    const std::string file_prefix = std::string(kBodyName) + ":1: ";
    if (rest.starts_with(file_prefix)) rest.remove_prefix(file_prefix.size());
    if (rest.starts_with("config: ")) rest.remove_prefix(8);
    return FieldError{"route", std::string(rest)};
  };
  if (!m.starts_with(source)) return whole();
  m.remove_prefix(source.size());
  const std::string path_detail = " path=" + std::string(path);
  if (m.starts_with(path_detail)) m.remove_prefix(path_detail.size());
  if (!m.starts_with(": ")) return whole();
  m.remove_prefix(2);
  return split_field_message(m, "route");
}

std::string api_route_source(std::uint64_t id) {
  return std::string(kApiSourcePrefix) + std::to_string(id);
}

std::optional<std::uint64_t> api_route_id(const RouteConfig& route) {
  std::string_view s = route.source;
  if (!s.starts_with(kApiSourcePrefix)) return std::nullopt;
  s.remove_prefix(kApiSourcePrefix.size());
  std::uint64_t id = 0;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return id;
}

persistence::RouteRow row_from_route(const RouteConfig& route, const json& object, bool is_active) {
  persistence::RouteRow row;
  row.name = route.name;
  row.path = route.path;
  row.service_name = route.service;
  auto methods = route.methods;
  std::sort(methods.begin(), methods.end());
  row.methods.clear();
  for (const auto& m : methods) row.methods += (row.methods.empty() ? "" : ",") + m;
  row.auth_required = route.auth_required;
  row.rate_limit = route.rate_limit;
  // The column holds whole seconds; a finer timeout is kept exactly in `extra`.
  const auto ms = route.timeout.count();
  row.timeout_seconds = static_cast<std::uint32_t>(std::max<std::int64_t>(1, (ms + 999) / 1000));
  row.strip_prefix = route.strip_prefix;
  row.rewrite_path = route.rewrite_path;
  row.priority = route.priority;
  row.is_active = is_active;
  json extra = json::object();
  for (const auto& [key, value] : object.items()) {
    const bool column =
        std::find(kColumnFields.begin(), kColumnFields.end(), key) != kColumnFields.end();
    if (!column && !is_read_only_route_field(key)) extra[key] = value;
  }
  if (ms % 1000 != 0) extra["timeout"] = seconds(route.timeout);
  row.extra_json = extra.dump();
  return row;
}

json object_from_row(const persistence::RouteRow& row) {
  json o = json::object();
  o["name"] = row.name;
  o["path"] = row.path;
  o["service"] = row.service_name;
  json methods = json::array();
  std::string_view list = row.methods;
  while (!list.empty()) {
    const auto comma = list.find(',');
    methods.push_back(std::string(list.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  o["methods"] = std::move(methods);
  o["auth_required"] = row.auth_required;
  if (row.rate_limit) o["rate_limit"] = *row.rate_limit;
  o["timeout"] = row.timeout_seconds;
  o["strip_prefix"] = row.strip_prefix;
  if (row.rewrite_path) o["rewrite_path"] = *row.rewrite_path;
  o["priority"] = row.priority;
  const json extra = json::parse(row.extra_json, nullptr, false);
  if (extra.is_object()) {
    for (const auto& [key, value] : extra.items()) o[key] = value;
  }
  return o;
}

json route_to_json(const RouteConfig& r) {
  json j;
  const auto id = api_route_id(r);
  j["id"] = id ? json(*id) : json(nullptr);
  j["source"] = id ? "api" : "file";
  j["name"] = r.name;
  j["path"] = r.path;
  j["match_kind"] = match_kind_name(r.match);
  j["service"] = r.service;
  j["methods"] = r.methods;
  j["auth_required"] = r.auth_required;
  j["rate_limit"] = r.rate_limit ? json(*r.rate_limit) : json(nullptr);
  j["timeout"] = seconds(r.timeout);
  j["connect_timeout"] = seconds(r.connect_timeout);
  j["strip_prefix"] = r.strip_prefix;
  j["rewrite_path"] = r.rewrite_path ? json(*r.rewrite_path) : json(nullptr);
  json headers = json::object();
  for (const auto& [name, value] : r.headers) {
    headers[name] = is_sensitive_header(name) ? "REDACTED" : value;
  }
  j["headers"] = std::move(headers);
  j["priority"] = r.priority;
  j["host"] = r.host ? json(*r.host) : json(nullptr);
  j["enabled"] = r.enabled;
  j["max_body_bytes"] = r.max_body_bytes ? json(*r.max_body_bytes) : json(nullptr);
  j["retry"] = {{"count", r.retry.retry_count},
                {"per_try_timeout", seconds(r.retry.per_try_timeout)},
                {"on_status", r.retry.retry_on_status},
                {"non_idempotent", r.retry.retry_non_idempotent},
                {"body_limit", r.retry.retry_body_limit},
                {"backoff_base", seconds(r.retry.backoff_base)},
                {"backoff_max", seconds(r.retry.backoff_max)},
                {"backoff_multiplier", r.retry.backoff_multiplier},
                {"on_connect_failure", r.retry.retry_on_connect_failure},
                {"on_timeout", r.retry.retry_on_timeout}};
  j["forward_authorization"] = r.forward_authorization;
  j["cors"] = r.cors ? r.cors->to_json() : json(nullptr);
  j["auth"] = {{"methods", r.auth_methods},
               {"roles", r.required_roles},
               {"scopes", r.required_scopes},
               {"permissions", r.required_permissions}};
  return j;
}

bool is_read_only_route_field(std::string_view key) noexcept {
  return std::find(kReadOnlyFields.begin(), kReadOnlyFields.end(), key) != kReadOnlyFields.end();
}

}  // namespace gatewayd::admin
