#include "config/config_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "config/cors_policy.hpp"
#include "config/setting_value.hpp"
#include "gatewayd/router.hpp"
#include "routing/route_pattern.hpp"

namespace gatewayd {
namespace {

namespace sv = setting_value;
using std::chrono::milliseconds;

constexpr std::string_view kMethods[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                         "PATCH", "OPTIONS", "TRACE", "CONNECT"};

std::uint16_t method_bit(std::string_view m) {
  for (std::size_t i = 0; i < std::size(kMethods); ++i) {
    if (kMethods[i] == m) return static_cast<std::uint16_t>(1u << i);
  }
  return 0;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(std::string_view key, std::initializer_list<std::string_view> known) {
  std::string_view best;
  std::size_t best_d = 3;
  for (auto k : known) {
    const auto d = edit_distance(key, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)";
}

std::string fmt_seconds(milliseconds ms) {
  std::ostringstream os;
  os << static_cast<double>(ms.count()) / 1000.0 << "s";
  return os.str();
}

// ------------------------------------------------------------------------------ YAML reading

// Reads one YAML document with messages "<file>:<line>: <entry>: <field>: <what>".
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  std::string where(const YAML::Node& node) const {
    const auto mark = node.Mark();
    if (mark.line < 0) return file_;
    return file_ + ":" + std::to_string(mark.line + 1);
  }

  [[noreturn]] void fail(const YAML::Node& node, std::string_view entry, std::string_view field,
                         std::string_view what) const {
    std::string msg = where(node) + ": ";
    if (!entry.empty()) msg += std::string(entry) + ": ";
    if (!field.empty()) msg += std::string(field) + ": ";
    msg += what;
    throw ConfigError(msg);
  }

  std::string scalar(const YAML::Node& n, std::string_view entry, std::string_view field) const {
    if (!n.IsScalar()) fail(n, entry, field, "expected a single value");
    return n.Scalar();
  }

  std::string string(const YAML::Node& n, std::string_view entry, std::string_view field) const {
    return scalar(n, entry, field);
  }

  bool boolean(const YAML::Node& n, std::string_view entry, std::string_view field) const {
    const auto v = sv::parse_bool(scalar(n, entry, field));
    if (!v) fail(n, entry, field, "expected true or false, got '" + n.Scalar() + "'");
    return *v;
  }

  std::int64_t integer(const YAML::Node& n, std::string_view entry, std::string_view field,
                       std::int64_t min, std::int64_t max) const {
    const auto v = sv::parse_int(scalar(n, entry, field));
    if (!v) fail(n, entry, field, "expected an integer, got '" + n.Scalar() + "'");
    if (*v < min || *v > max) {
      fail(n, entry, field,
           std::to_string(*v) + " is out of range " + std::to_string(min) + "-" +
               std::to_string(max));
    }
    return *v;
  }

  double number(const YAML::Node& n, std::string_view entry, std::string_view field, double min,
                double max) const {
    const auto v = sv::parse_double(scalar(n, entry, field));
    if (!v) fail(n, entry, field, "expected a number, got '" + n.Scalar() + "'");
    if (*v < min || *v > max) {
      std::ostringstream os;
      os << n.Scalar() << " is out of range " << min << "-" << max;
      fail(n, entry, field, os.str());
    }
    return *v;
  }

  // Seconds, possibly fractional; must be > 0 unless `allow_zero`.
  milliseconds seconds(const YAML::Node& n, std::string_view entry, std::string_view field,
                       bool allow_zero = false) const {
    const auto v = sv::parse_double(scalar(n, entry, field));
    if (!v) fail(n, entry, field, "expected a number of seconds, got '" + n.Scalar() + "'");
    if (*v < 0 || (*v == 0 && !allow_zero)) {
      fail(n, entry, field, allow_zero ? "must not be negative" : "must be greater than 0");
    }
    if (*v > 86400.0 * 365) fail(n, entry, field, "is too large");
    const auto ms = static_cast<std::int64_t>(std::llround(*v * 1000.0));
    if (ms == 0 && *v > 0) fail(n, entry, field, "must be at least 1 ms");
    return milliseconds(ms);
  }

  std::vector<std::string> string_list(const YAML::Node& n, std::string_view entry,
                                       std::string_view field) const {
    std::vector<std::string> out;
    if (n.IsNull()) return out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) fail(n, entry, field, "expected a list");
    for (const auto& item : n) out.push_back(scalar(item, entry, field));
    return out;
  }

  std::vector<unsigned> status_list(const YAML::Node& n, std::string_view entry,
                                    std::string_view field) const {
    std::vector<unsigned> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence()) fail(n, entry, field, "expected a list of HTTP status codes");
    for (const auto& item : n) {
      out.push_back(static_cast<unsigned>(integer(item, entry, field, 100, 599)));
    }
    return out;
  }

  void require_map(const YAML::Node& n, std::string_view entry, std::string_view field) const {
    if (!n.IsMap()) fail(n, entry, field, "expected a mapping");
  }

 private:
  std::string file_;
};

// Iterates a mapping, failing on unknown keys (typos must not pass silently).
template <typename Handler>
void for_each_field(const Reader& rd, const YAML::Node& map, std::string_view entry,
                    std::string_view parent, std::initializer_list<std::string_view> known,
                    Handler&& handle) {
  rd.require_map(map, entry, parent);
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = rd.scalar(kv.first, entry, parent);
    const std::string field = parent.empty() ? key : std::string(parent) + "." + key;
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      rd.fail(kv.first, entry, field, "unknown field" + did_you_mean(key, known));
    }
    if (!seen.insert(key).second) rd.fail(kv.first, entry, field, "given twice");
    handle(key, field, kv.second);
  }
}

YAML::Node load_yaml(std::string_view text, const std::string& name) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string msg = name;
    if (e.mark.line >= 0) msg += ":" + std::to_string(e.mark.line + 1);
    throw ConfigError(msg + ": invalid YAML: " + e.msg);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": read error");
  return ss.str();
}

// ------------------------------------------------------------------------------ routes

void parse_retry(const Reader& rd, const YAML::Node& n, const std::string& entry,
                 RetryPolicy& retry) {
  if (n.IsScalar()) {  // `retry: 2` is the count
    retry.retry_count = static_cast<unsigned>(rd.integer(n, entry, "retry", 0, 10));
    return;
  }
  for_each_field(
      rd, n, entry, "retry",
      {"count", "retry_count", "per_try_timeout", "on_status", "retry_on_status", "non_idempotent",
       "retry_non_idempotent", "body_limit", "retry_body_limit", "backoff_base", "backoff_max",
       "backoff_multiplier", "on_connect_failure", "on_timeout"},
      [&](const std::string& key, const std::string& field, const YAML::Node& v) {
        if (key == "count" || key == "retry_count") {
          retry.retry_count = static_cast<unsigned>(rd.integer(v, entry, field, 0, 10));
        } else if (key == "per_try_timeout") {
          retry.per_try_timeout = rd.seconds(v, entry, field);
        } else if (key == "on_status" || key == "retry_on_status") {
          retry.retry_on_status = rd.status_list(v, entry, field);
        } else if (key == "non_idempotent" || key == "retry_non_idempotent") {
          retry.retry_non_idempotent = rd.boolean(v, entry, field);
        } else if (key == "body_limit" || key == "retry_body_limit") {
          retry.retry_body_limit =
              static_cast<std::size_t>(rd.integer(v, entry, field, 0, 64LL * 1024 * 1024));
        } else if (key == "backoff_base") {
          retry.backoff_base = rd.seconds(v, entry, field, true);
        } else if (key == "backoff_max") {
          retry.backoff_max = rd.seconds(v, entry, field, true);
        } else if (key == "backoff_multiplier") {
          retry.backoff_multiplier = rd.number(v, entry, field, 1.0, 10.0);
        } else if (key == "on_connect_failure") {
          retry.retry_on_connect_failure = rd.boolean(v, entry, field);
        } else if (key == "on_timeout") {
          retry.retry_on_timeout = rd.boolean(v, entry, field);
        }
      });
}

// `cors:` of a route: `false` (CORS off for the route), `true` (the built-in defaults) or a
// mapping with the fields of the global policy's JSON form; absent fields take the built-in
// defaults (CorsOptions), not the global policy's values.
std::shared_ptr<const CorsPolicy> parse_route_cors(const Reader& rd, const YAML::Node& n,
                                                   const std::string& entry) {
  if (n.IsNull()) return nullptr;
  CorsOptions o;
  if (n.IsScalar()) {
    o.enabled = rd.boolean(n, entry, "cors");
  } else {
    for_each_field(rd, n, entry, "cors",
                   {"enabled", "allowed_origins", "allowed_methods", "allowed_headers",
                    "exposed_headers", "allow_credentials", "max_age", "max_age_seconds"},
                   [&](const std::string& key, const std::string& field, const YAML::Node& v) {
                     if (key == "enabled") {
                       o.enabled = rd.boolean(v, entry, field);
                     } else if (key == "allowed_origins") {
                       o.allowed_origins = rd.string_list(v, entry, field);
                     } else if (key == "allowed_methods") {
                       o.allowed_methods = rd.string_list(v, entry, field);
                     } else if (key == "allowed_headers") {
                       o.allowed_headers = rd.string_list(v, entry, field);
                     } else if (key == "exposed_headers") {
                       o.exposed_headers = rd.string_list(v, entry, field);
                     } else if (key == "allow_credentials") {
                       o.allow_credentials = rd.boolean(v, entry, field);
                     } else {
                       o.max_age =
                           std::chrono::seconds(rd.integer(v, entry, field, 0, kCorsMaxAgeLimit));
                     }
                   });
  }
  // The node of "allowed_origins[2]" for the line number, else the whole `cors:`.
  const auto node_of = [&](std::string_view field) {
    const auto bracket = field.find('[');
    const std::string name(field.substr(0, bracket));
    if (!n.IsMap() || !n[name]) return n;
    const YAML::Node list = n[name];
    if (bracket == std::string_view::npos || !list.IsSequence()) return list;
    const auto index = std::stoul(std::string(field.substr(bracket + 1)));
    return index < list.size() ? list[index] : list;
  };
  if (o.allow_credentials) {
    // The global policy answers `*` with the request's origin when credentials are on; a route
    // states its origins instead, so a credentialed route is never open to every site by
    // accident.
    for (std::size_t i = 0; i < o.allowed_origins.size(); ++i) {
      if (o.allowed_origins[i] != "*") continue;
      const std::string field = "allowed_origins[" + std::to_string(i) + "]";
      rd.fail(node_of(field), entry, "cors." + field,
              "'*' cannot be combined with allow_credentials: list the allowed origins");
    }
  }
  auto result = CorsPolicy::create(std::move(o));
  if (auto* errors = std::get_if<std::vector<admin::FieldError>>(&result)) {
    const auto& first = errors->front();
    const std::string field = first.field == "max_age_seconds" ? "max_age" : first.field;
    rd.fail(node_of(field), entry, "cors." + field, first.message);
  }
  return std::make_shared<const CorsPolicy>(std::get<CorsPolicy>(std::move(result)));
}

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

RouteConfig parse_route(const Reader& rd, const YAML::Node& n, std::size_t index,
                        const ConfigDefaults& d) {
  std::string entry = "routes[" + std::to_string(index) + "]";
  rd.require_map(n, entry, "");
  if (const auto p = n["path"]; p && p.IsScalar()) entry += " path=" + p.Scalar();

  RouteConfig r;
  r.timeout = d.route_timeout;
  r.connect_timeout = d.connect_timeout;
  r.retry = d.retry;
  r.source = rd.where(n) + ": routes[" + std::to_string(index) + "]";
  std::optional<std::string> match;
  bool has_rewrite = false;

  for_each_field(
      rd, n, entry, "",
      {"path",
       "service",
       "methods",
       "auth_required",
       "rate_limit",
       "timeout",
       "strip_prefix",
       "rewrite_path",
       "rewrite",
       "headers",
       "name",
       "priority",
       "host",
       "match",
       "enabled",
       "connect_timeout",
       "max_body_bytes",
       "retry",
       "forward_authorization",
       "auth",
       "cors"},
      [&](const std::string& key, const std::string& field, const YAML::Node& v) {
        if (key == "path") {
          r.path = rd.string(v, entry, field);
        } else if (key == "service") {
          r.service = rd.string(v, entry, field);
        } else if (key == "methods") {
          for (const auto& m : rd.string_list(v, entry, field)) {
            const std::string up = to_upper(m);
            if (method_bit(up) == 0) {
              rd.fail(v, entry, field,
                      "unknown method '" + m +
                          "' (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE, CONNECT)");
            }
            if (std::find(r.methods.begin(), r.methods.end(), up) == r.methods.end()) {
              r.methods.push_back(up);
            }
          }
          if (r.methods.empty()) rd.fail(v, entry, field, "must list at least one method");
        } else if (key == "auth_required") {
          r.auth_required = rd.boolean(v, entry, field);
        } else if (key == "rate_limit") {
          if (!v.IsNull()) {
            r.rate_limit =
                static_cast<std::uint32_t>(rd.integer(v, entry, field, 1, 1'000'000'000));
          }
        } else if (key == "timeout") {
          r.timeout = rd.seconds(v, entry, field);
        } else if (key == "connect_timeout") {
          r.connect_timeout = rd.seconds(v, entry, field);
        } else if (key == "strip_prefix") {
          r.strip_prefix = rd.boolean(v, entry, field);
        } else if (key == "rewrite_path" || key == "rewrite") {
          if (has_rewrite) rd.fail(v, entry, field, "rewrite_path and rewrite are the same field");
          has_rewrite = true;
          if (!v.IsNull()) r.rewrite_path = rd.string(v, entry, field);
        } else if (key == "headers") {
          if (v.IsNull()) return;
          rd.require_map(v, entry, field);
          for (const auto& h : v) {
            const std::string name = rd.scalar(h.first, entry, field);
            const std::string hf = field + "." + name;
            if (!valid_header_name(name)) rd.fail(h.first, entry, hf, "invalid header name");
            const std::string lname = to_lower(name);
            if (lname == "host" || lname == "content-length" || lname == "transfer-encoding" ||
                lname == "connection" || lname == "upgrade" || lname == "te" ||
                lname == "trailer" || lname == "keep-alive") {
              rd.fail(h.first, entry, hf, "this header is managed by the gateway");
            }
            const std::string value =
                h.second.IsNull() ? std::string() : rd.scalar(h.second, entry, hf);
            if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
              rd.fail(h.second, entry, hf, "header values must not contain CR, LF or NUL");
            }
            r.headers.emplace_back(name, value);
          }
        } else if (key == "name") {
          r.name = rd.string(v, entry, field);
          if (r.name.empty() || r.name.size() > 128) {
            rd.fail(v, entry, field, "must be 1 to 128 characters");
          }
        } else if (key == "priority") {
          r.priority = static_cast<int>(rd.integer(v, entry, field, -1'000'000, 1'000'000));
        } else if (key == "host") {
          if (!v.IsNull()) r.host = to_lower(rd.string(v, entry, field));
        } else if (key == "match") {
          match = to_lower(rd.string(v, entry, field));
          if (*match != "exact" && *match != "prefix") {
            rd.fail(v, entry, field, "expected exact or prefix, got '" + v.Scalar() + "'");
          }
        } else if (key == "enabled") {
          r.enabled = rd.boolean(v, entry, field);
        } else if (key == "max_body_bytes") {
          r.max_body_bytes = static_cast<std::uint64_t>(rd.integer(v, entry, field, 0, 1LL << 50));
        } else if (key == "retry") {
          parse_retry(rd, v, entry, r.retry);
        } else if (key == "forward_authorization") {
          r.forward_authorization = rd.boolean(v, entry, field);
        } else if (key == "cors") {
          r.cors = parse_route_cors(rd, v, entry);
        } else if (key == "auth") {
          for_each_field(rd, v, entry, field, {"methods", "roles", "scopes", "permissions"},
                         [&](const std::string& k, const std::string& f, const YAML::Node& a) {
                           auto list = rd.string_list(a, entry, f);
                           if (k == "methods") {
                             for (auto& m : list) {
                               m = to_lower(m);
                               if (m != "jwt" && m != "api_key") {
                                 rd.fail(a, entry, f, "expected jwt or api_key, got '" + m + "'");
                               }
                             }
                             r.auth_methods = std::move(list);
                           } else if (k == "roles") {
                             r.required_roles = std::move(list);
                           } else if (k == "scopes") {
                             r.required_scopes = std::move(list);
                           } else {
                             r.required_permissions = std::move(list);
                           }
                         });
        }
      });

  if (r.path.empty()) rd.fail(n, entry, "path", "is required");
  if (r.service.empty()) rd.fail(n, entry, "service", "is required");
  if (r.methods.empty()) r.methods.push_back("GET");
  if (match == "prefix") {
    r.match = MatchKind::kPrefix;
  } else if (match == "exact") {
    std::string error;
    const auto p = routing::parse_route_pattern(r.path, false, error);
    if (p && p->kind != MatchKind::kExact) {
      rd.fail(n["match"], entry, "match", "exact conflicts with the wildcards of the path");
    }
  }
  return r;
}

// ------------------------------------------------------------------------------ services

void parse_health_check(const Reader& rd, const YAML::Node& n, const std::string& entry,
                        HealthCheckConfig& hc) {
  hc.enabled = true;
  for_each_field(
      rd, n, entry, "health_check",
      {"enabled", "path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold",
       "expected_statuses"},
      [&](const std::string& key, const std::string& field, const YAML::Node& v) {
        if (key == "enabled") {
          hc.enabled = rd.boolean(v, entry, field);
        } else if (key == "path") {
          hc.path = rd.string(v, entry, field);
          if (hc.path.empty() || hc.path.front() != '/' ||
              hc.path.find_first_of(" \t\r\n") != std::string::npos) {
            rd.fail(v, entry, field, "must be a path starting with '/'");
          }
        } else if (key == "interval") {
          hc.interval = rd.seconds(v, entry, field);
        } else if (key == "timeout") {
          hc.timeout = rd.seconds(v, entry, field);
        } else if (key == "healthy_threshold") {
          hc.healthy_threshold = static_cast<unsigned>(rd.integer(v, entry, field, 1, 1000));
        } else if (key == "unhealthy_threshold") {
          hc.unhealthy_threshold = static_cast<unsigned>(rd.integer(v, entry, field, 1, 1000));
        } else if (key == "expected_statuses") {
          if (!v.IsSequence() || v.size() == 0) {
            rd.fail(v, entry, field, "expected a non-empty list of statuses or \"200-399\" ranges");
          }
          hc.expected_statuses.clear();
          for (const auto& item : v) {
            const std::string s = rd.scalar(item, entry, field);
            const auto dash = s.find('-');
            const auto lo = sv::parse_int(s.substr(0, dash));
            const auto hi = dash == std::string::npos ? lo : sv::parse_int(s.substr(dash + 1));
            if (!lo || !hi || *lo < 100 || *hi > 599 || *lo > *hi) {
              rd.fail(item, entry, field, "'" + s + "' is not a status or a range like 200-399");
            }
            hc.expected_statuses.emplace_back(static_cast<unsigned>(*lo),
                                              static_cast<unsigned>(*hi));
          }
        }
      });
  if (hc.timeout > hc.interval) {
    rd.fail(n, entry, "health_check.timeout",
            fmt_seconds(hc.timeout) + " is longer than the interval " + fmt_seconds(hc.interval));
  }
}

void parse_circuit_breaker(const Reader& rd, const YAML::Node& n, const std::string& entry,
                           CircuitBreakerPolicy& cb) {
  for_each_field(
      rd, n, entry, "circuit_breaker",
      {"enabled", "failure_threshold", "success_threshold", "open_timeout", "open_timeout_jitter",
       "half_open_max_requests", "failure_ratio", "window", "window_min_requests",
       "failure_on_connect_error", "failure_on_timeout", "failure_on_protocol_error",
       "failure_on_5xx", "failure_statuses"},
      [&](const std::string& key, const std::string& field, const YAML::Node& v) {
        if (key == "enabled")
          cb.enabled = rd.boolean(v, entry, field);
        else if (key == "failure_threshold")
          cb.failure_threshold = static_cast<std::uint32_t>(rd.integer(v, entry, field, 0, 100000));
        else if (key == "success_threshold")
          cb.success_threshold = static_cast<std::uint32_t>(rd.integer(v, entry, field, 1, 100000));
        else if (key == "open_timeout")
          cb.open_timeout = rd.seconds(v, entry, field);
        else if (key == "open_timeout_jitter")
          cb.open_timeout_jitter = rd.number(v, entry, field, 0, 1);
        else if (key == "half_open_max_requests")
          cb.half_open_max_requests =
              static_cast<std::uint32_t>(rd.integer(v, entry, field, 1, 100000));
        else if (key == "failure_ratio")
          cb.failure_ratio = rd.number(v, entry, field, 0, 1);
        else if (key == "window")
          cb.window = rd.seconds(v, entry, field);
        else if (key == "window_min_requests")
          cb.window_min_requests =
              static_cast<std::uint32_t>(rd.integer(v, entry, field, 1, 1000000));
        else if (key == "failure_on_connect_error")
          cb.failure_on_connect_error = rd.boolean(v, entry, field);
        else if (key == "failure_on_timeout")
          cb.failure_on_timeout = rd.boolean(v, entry, field);
        else if (key == "failure_on_protocol_error")
          cb.failure_on_protocol_error = rd.boolean(v, entry, field);
        else if (key == "failure_on_5xx")
          cb.failure_on_5xx = rd.boolean(v, entry, field);
        else if (key == "failure_statuses")
          cb.failure_statuses = rd.status_list(v, entry, field);
      });
}

void parse_outlier(const Reader& rd, const YAML::Node& n, const std::string& entry,
                   const std::string& name, OutlierPolicy& o) {
  for_each_field(rd, n, entry, name,
                 {"enabled", "consecutive_5xx", "consecutive_gateway_failures",
                  "base_ejection_time", "max_ejection_time", "max_ejection_percent"},
                 [&](const std::string& key, const std::string& field, const YAML::Node& v) {
                   if (key == "enabled")
                     o.enabled = rd.boolean(v, entry, field);
                   else if (key == "consecutive_5xx")
                     o.consecutive_5xx =
                         static_cast<std::uint32_t>(rd.integer(v, entry, field, 0, 100000));
                   else if (key == "consecutive_gateway_failures")
                     o.consecutive_gateway_failures =
                         static_cast<std::uint32_t>(rd.integer(v, entry, field, 0, 100000));
                   else if (key == "base_ejection_time")
                     o.base_ejection_time = rd.seconds(v, entry, field);
                   else if (key == "max_ejection_time")
                     o.max_ejection_time = rd.seconds(v, entry, field);
                   else if (key == "max_ejection_percent")
                     o.max_ejection_percent = rd.number(v, entry, field, 0, 100);
                 });
  if (o.max_ejection_time < o.base_ejection_time) {
    rd.fail(n, entry, name + ".max_ejection_time", "is shorter than base_ejection_time");
  }
}

void parse_retry_budget(const Reader& rd, const YAML::Node& n, const std::string& entry,
                        RetryBudgetPolicy& b) {
  for_each_field(rd, n, entry, "retry_budget",
                 {"percent", "budget_percent", "min_retries_per_second", "window"},
                 [&](const std::string& key, const std::string& field, const YAML::Node& v) {
                   if (key == "percent" || key == "budget_percent")
                     b.budget_percent = rd.number(v, entry, field, 0, 100);
                   else if (key == "min_retries_per_second")
                     b.min_retries_per_second = rd.number(v, entry, field, 0, 100000);
                   else if (key == "window")
                     b.window = rd.seconds(v, entry, field);
                 });
}

void validate_instance(const std::string& source, std::size_t i, InstanceConfig& inst);

InstanceConfig parse_instance(const Reader& rd, const YAML::Node& n, const std::string& entry) {
  InstanceConfig inst;
  bool has_url = false;
  for_each_field(rd, n, entry, "", {"url", "weight", "healthy"},
                 [&](const std::string& key, const std::string& field, const YAML::Node& v) {
                   if (key == "url") {
                     inst.url = rd.string(v, entry, field);
                     has_url = true;
                   } else if (key == "weight") {
                     inst.weight =
                         static_cast<std::uint32_t>(rd.integer(v, entry, field, 0, 10000));
                   } else if (key == "healthy") {
                     inst.healthy = rd.boolean(v, entry, field);
                   }
                 });
  if (!has_url) rd.fail(n, entry, "url", "is required");
  return inst;
}

bool valid_host_pattern(std::string_view h);

ServiceConfig parse_service(const Reader& rd, const std::string& name, const YAML::Node& n,
                            const ConfigDefaults& d) {
  const std::string entry = "services." + name;
  ServiceConfig s;
  s.name = name;
  s.lb = d.lb;
  s.circuit_breaker = d.circuit_breaker;
  s.outlier = d.outlier;
  s.retry_budget = d.retry_budget;
  s.source = rd.where(n) + ": " + entry;
  if (n.IsNull()) return s;
  bool has_lb = false;
  for_each_field(
      rd, n, entry, "",
      {"instances", "load_balancer", "lb_strategy", "health_check", "circuit_breaker",
       "outlier_detection", "retry_budget", "tls_verify", "tls_ca_file", "tls_cert_file",
       "tls_key_file", "tls_server_name"},
      [&](const std::string& key, const std::string& field, const YAML::Node& v) {
        if (key == "instances") {
          if (v.IsNull()) return;
          if (!v.IsSequence()) rd.fail(v, entry, field, "expected a list of instances");
          std::size_t i = 0;
          for (const auto& item : v) {
            auto inst = parse_instance(rd, item, entry + ".instances[" + std::to_string(i) + "]");
            // Checked here too so the message points at the instance's own line.
            validate_instance(rd.where(item) + ": " + entry, i, inst);
            s.instances.push_back(std::move(inst));
            ++i;
          }
        } else if (key == "load_balancer" || key == "lb_strategy") {
          if (has_lb) rd.fail(v, entry, field, "load_balancer and lb_strategy are the same field");
          has_lb = true;
          const auto lb = parse_lb_strategy(to_lower(rd.string(v, entry, field)));
          if (!lb) {
            rd.fail(v, entry, field,
                    "expected round_robin, weighted, least_connections or random, got '" +
                        v.Scalar() + "'");
          }
          s.lb = *lb;
        } else if (key == "health_check") {
          parse_health_check(rd, v, entry, s.health_check);
        } else if (key == "circuit_breaker") {
          parse_circuit_breaker(rd, v, entry, s.circuit_breaker);
        } else if (key == "outlier_detection") {
          parse_outlier(rd, v, entry, field, s.outlier);
        } else if (key == "retry_budget") {
          parse_retry_budget(rd, v, entry, s.retry_budget);
        } else if (key == "tls_verify") {
          s.tls.verify = rd.boolean(v, entry, field);
        } else if (key == "tls_ca_file") {
          s.tls.ca_file = rd.string(v, entry, field);
        } else if (key == "tls_cert_file") {
          s.tls.cert_file = rd.string(v, entry, field);
        } else if (key == "tls_key_file") {
          s.tls.key_file = rd.string(v, entry, field);
        } else if (key == "tls_server_name") {
          s.tls.server_name = to_lower(rd.string(v, entry, field));
          if (!valid_host_pattern(s.tls.server_name) || s.tls.server_name.front() == '*') {
            rd.fail(v, entry, field, "expected a host name");
          }
        }
      });
  if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
    rd.fail(n, entry, "tls_cert_file", "tls_cert_file and tls_key_file go together");
  }
  return s;
}

// ------------------------------------------------------------------------------ validation

[[noreturn]] void invalid(const std::string& source, const std::string& entry_detail,
                          std::string_view field, std::string_view what) {
  std::string msg = source.empty() ? std::string("config") : source;
  if (!entry_detail.empty()) msg += " " + entry_detail;
  msg += ": ";
  if (!field.empty()) msg += std::string(field) + ": ";
  msg += what;
  throw ConfigError(msg);
}

bool valid_service_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool valid_host_pattern(std::string_view h) {
  if (h.size() > 2 && h[0] == '*' && h[1] == '.') h.remove_prefix(2);
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.') return false;
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return h.find("..") == std::string_view::npos;
}

void validate_instance(const std::string& source, std::size_t i, InstanceConfig& inst) {
  const std::string detail = "instances[" + std::to_string(i) + "] url=" + inst.url;
  const auto fail = [&](std::string_view what) { invalid(source, detail, "url", what); };
  const auto parsed = boost::urls::parse_absolute_uri(inst.url);
  if (!parsed) fail("not a valid absolute URL (expected http://host:port)");
  const boost::urls::url_view u = *parsed;
  const std::string scheme = to_lower(std::string(u.scheme()));
  if (scheme != "http" && scheme != "https") fail("scheme must be http or https");
  if (!u.has_authority() || u.host().empty()) fail("a host is required");
  if (u.has_userinfo()) fail("credentials in the URL are not supported");
  if (!u.encoded_path().empty() && u.encoded_path() != "/") {
    fail("a path is not supported; use the route's rewrite_path");
  }
  if (u.has_query() || u.has_fragment()) fail("a query or fragment is not supported");
  std::uint16_t port = scheme == "https" ? 443 : 80;
  if (u.has_port()) {
    const auto p = sv::parse_int(std::string(u.port()));
    if (!p || *p < 1 || *p > 65535) fail("port must be 1-65535");
    port = static_cast<std::uint16_t>(*p);
  }
  std::string host;
  if (u.host_type() == boost::urls::host_type::ipv6) {
    host = std::string(u.host_address());
    inst.id = "[" + host + "]:" + std::to_string(port);
  } else {
    host = to_lower(std::string(u.host_address()));
    if (host.find_first_of(" /\\%") != std::string::npos) fail("invalid host");
    inst.id = host + ":" + std::to_string(port);
  }
  inst.scheme = scheme;
  inst.host = std::move(host);
  inst.port = port;
}

void validate_service(ServiceConfig& s) {
  if (!valid_service_name(s.name)) {
    invalid(s.source, "", "", "service names use letters, digits, '-', '_' and '.'");
  }
  if (s.name == "internal") {
    invalid(s.source, "", "", "'internal' is reserved for the gateway's own endpoints");
  }
  std::set<std::string> ids;
  std::uint64_t total_weight = 0;
  for (std::size_t i = 0; i < s.instances.size(); ++i) {
    validate_instance(s.source, i, s.instances[i]);
    const auto& inst = s.instances[i];
    if (!ids.insert(inst.scheme + "://" + inst.id).second) {
      invalid(s.source, "instances[" + std::to_string(i) + "] url=" + inst.url, "url",
              "the same endpoint is listed twice");
    }
    total_weight += inst.weight;
  }
  if (!s.instances.empty() && total_weight == 0) {
    invalid(s.source, "instances[0]", "weight",
            s.instances.size() == 1 ? "weight 0 on the only instance leaves the service no traffic"
                                    : "every instance has weight 0: the service gets no traffic");
  }
  const auto& hc = s.health_check;
  if (hc.path.empty() || hc.path.front() != '/') {
    invalid(s.source, "", "health_check.path", "must start with '/'");
  }
  if (hc.interval.count() <= 0 || hc.timeout.count() <= 0) {
    invalid(s.source, "", "health_check", "interval and timeout must be greater than 0");
  }
}

bool pattern_has_wildcard_suffix(std::string_view path) {
  return path.ends_with("/*") || path.ends_with("/**");
}

struct Placed {
  std::size_t index;
  std::uint16_t methods;
};

void validate_routes(Config& c) {
  std::map<std::string, std::vector<Placed>> shapes;
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    RouteConfig& r = c.routes[i];
    const std::string detail = "path=" + r.path;
    const auto fail = [&](std::string_view field, std::string_view what) {
      invalid(r.source, detail, field, what);
    };

    std::string error;
    auto pattern = routing::parse_route_pattern(r.path, r.match == MatchKind::kPrefix, error);
    if (!pattern) fail("path", "invalid pattern: " + error);
    r.match = pattern->kind;

    if (r.service.empty()) fail("service", "is required");
    if (r.service != "internal" && c.services.find(r.service) == c.services.end()) {
      std::string known;
      for (const auto& [name, svc] : c.services) known += (known.empty() ? "" : ", ") + name;
      fail("service", "unknown service '" + r.service + "'" +
                          (known.empty() ? std::string(" (services.yaml declares none)")
                                         : " (known: " + known + ")"));
    }

    std::uint16_t mask = 0;
    if (r.methods.empty()) r.methods.push_back("GET");
    for (auto& m : r.methods) {
      m = to_upper(m);
      const auto bit = method_bit(m);
      if (bit == 0) fail("methods", "unknown method '" + m + "'");
      mask |= bit;
    }
    if (mask & method_bit("GET")) mask |= method_bit("HEAD");

    if (r.timeout.count() <= 0) fail("timeout", "must be greater than 0");
    if (r.connect_timeout.count() <= 0) fail("connect_timeout", "must be greater than 0");
    if (r.retry.per_try_timeout.count() < 0) fail("retry.per_try_timeout", "must not be negative");
    if (r.retry.backoff_max < r.retry.backoff_base) {
      fail("retry.backoff_max", "is shorter than retry.backoff_base");
    }
    if (r.rate_limit && *r.rate_limit == 0) fail("rate_limit", "must be at least 1");
    if (r.strip_prefix && r.rewrite_path) {
      fail("rewrite_path", "strip_prefix and rewrite_path cannot be combined");
    }
    if (r.rewrite_path) {
      if (const auto e = routing::check_rewrite(*r.rewrite_path, *pattern); !e.empty()) {
        fail("rewrite_path", e);
      }
    }
    if (r.host) {
      *r.host = to_lower(*r.host);
      if (r.host->empty())
        r.host.reset();
      else if (!valid_host_pattern(*r.host)) {
        fail("host", "expected a host name or *.domain, without port");
      }
    }
    for (const auto& m : r.auth_methods) {
      if (m != "jwt" && m != "api_key") fail("auth.methods", "expected jwt or api_key");
    }
    if (r.name.empty()) {
      // "GET,POST api.example.com/users/{id}"; a plain path with match: prefix says so.
      for (std::size_t k = 0; k < r.methods.size(); ++k) r.name += (k ? "," : "") + r.methods[k];
      r.name += " " + r.host.value_or("") + r.path;
      if (r.match == MatchKind::kPrefix && !pattern_has_wildcard_suffix(r.path)) {
        r.name += " (prefix)";
      }
    }

    if (!r.enabled) continue;
    auto& same = shapes[r.host.value_or("") + "|" + pattern->shape()];
    for (const auto& other : same) {
      if (other.methods & mask) {
        fail("path", "duplicate route: same host, path and methods as " +
                         c.routes[other.index].source + " path=" + c.routes[other.index].path);
      }
    }
    same.push_back({i, mask});
    if (const auto [it, inserted] = names.emplace(r.name, i); !inserted) {
      fail("name", "'" + r.name + "' is already used by " + c.routes[it->second].source);
    }
  }
}

}  // namespace

std::optional<LbStrategy> parse_lb_strategy(std::string_view name) {
  if (name == "round_robin") return LbStrategy::kRoundRobin;
  if (name == "weighted") return LbStrategy::kWeighted;
  if (name == "least_connections") return LbStrategy::kLeastConnections;
  if (name == "random") return LbStrategy::kRandom;
  return std::nullopt;
}

std::string_view lb_strategy_name(LbStrategy lb) noexcept {
  switch (lb) {
    case LbStrategy::kRoundRobin:
      return "round_robin";
    case LbStrategy::kWeighted:
      return "weighted";
    case LbStrategy::kLeastConnections:
      return "least_connections";
    case LbStrategy::kRandom:
      return "random";
  }
  return "round_robin";
}

ConfigDefaults ConfigDefaults::from_settings(const Settings& s) {
  ConfigDefaults d;
  d.lb = parse_lb_strategy(s.get("LOAD_BALANCER_STRATEGY")).value_or(LbStrategy::kRoundRobin);
  d.connect_timeout = s.get_duration("UPSTREAM_CONNECT_TIMEOUT_MS");
  d.retry.retry_count =
      s.get_bool("RETRY_ENABLED") ? static_cast<unsigned>(s.get_int("RETRY_MAX_ATTEMPTS") - 1) : 0;
  d.retry.backoff_base = s.get_duration("RETRY_BASE_MS");
  d.retry.backoff_max =
      std::min(s.get_duration("RETRY_MAX_MS"), s.get_duration("RETRY_MAX_DELAY_SECONDS"));
  d.retry.backoff_multiplier = s.get_double("RETRY_BACKOFF_FACTOR");
  if (d.retry.backoff_max < d.retry.backoff_base) d.retry.backoff_max = d.retry.backoff_base;

  d.circuit_breaker.enabled = s.get_bool("CIRCUIT_BREAKER_ENABLED");
  d.circuit_breaker.failure_threshold =
      static_cast<std::uint32_t>(s.get_int("CIRCUIT_BREAKER_FAILURE_THRESHOLD"));
  d.circuit_breaker.success_threshold =
      static_cast<std::uint32_t>(s.get_int("CIRCUIT_BREAKER_SUCCESS_THRESHOLD"));
  d.circuit_breaker.open_timeout = s.get_duration("CIRCUIT_BREAKER_TIMEOUT_SECONDS");
  d.circuit_breaker.half_open_max_requests =
      static_cast<std::uint32_t>(s.get_int("CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS"));
  d.circuit_breaker.failure_ratio = s.get_double("CIRCUIT_BREAKER_FAILURE_RATIO");
  d.circuit_breaker.window = s.get_duration("CIRCUIT_BREAKER_WINDOW_SECONDS");
  d.circuit_breaker.window_min_requests =
      static_cast<std::uint32_t>(s.get_int("CIRCUIT_BREAKER_MIN_REQUESTS"));

  d.retry_budget.budget_percent = s.get_double("RETRY_BUDGET_PERCENT");
  d.retry_budget.min_retries_per_second = s.get_double("RETRY_BUDGET_MIN_PER_SECOND");
  return d;
}

std::string routes_path(const Settings& s) {
  return (std::filesystem::path(s.config_dir) / s.routes_file).string();
}

std::string services_path(const Settings& s) {
  return (std::filesystem::path(s.config_dir) / s.services_file).string();
}

std::shared_ptr<const Config> load_config(const Settings& settings) {
  return load_config(routes_path(settings), services_path(settings),
                     ConfigDefaults::from_settings(settings));
}

std::shared_ptr<const Config> load_config(const std::string& routes_file,
                                          const std::string& services_file,
                                          const ConfigDefaults& defaults) {
  const std::string routes_text = read_file(routes_file);
  const std::string services_text = read_file(services_file);
  return parse_config(routes_text, services_text, defaults, routes_file, services_file);
}

namespace {
void parse_services(const Reader& srd, const YAML::Node& sdoc, const ConfigDefaults& defaults,
                    Config& config);
void parse_routes(const Reader& rrd, const YAML::Node& rdoc, const ConfigDefaults& defaults,
                  Config& config);
}  // namespace

std::shared_ptr<const Config> parse_config(std::string_view routes_yaml,
                                           std::string_view services_yaml,
                                           const ConfigDefaults& defaults,
                                           std::string_view routes_name,
                                           std::string_view services_name) {
  Config config;

  // yaml-cpp reports some problems (bad conversions, odd nodes) only while reading.
  const auto yaml_error = [](const std::string& file, const YAML::Exception& e) {
    std::string msg = file;
    if (e.mark.line >= 0) msg += ":" + std::to_string(e.mark.line + 1);
    return ConfigError(msg + ": " + e.msg);
  };

  const Reader srd{std::string(services_name)};
  try {
    parse_services(srd, load_yaml(services_yaml, srd.file()), defaults, config);
  } catch (const YAML::Exception& e) {
    throw yaml_error(srd.file(), e);
  }
  const Reader rrd{std::string(routes_name)};
  try {
    parse_routes(rrd, load_yaml(routes_yaml, rrd.file()), defaults, config);
  } catch (const YAML::Exception& e) {
    throw yaml_error(rrd.file(), e);
  }
  return finalize_config(std::move(config));
}

namespace {

void parse_services(const Reader& srd, const YAML::Node& sdoc, const ConfigDefaults& defaults,
                    Config& config) {
  if (!sdoc.IsMap()) throw ConfigError(srd.file() + ": expected a mapping with 'services:'");
  for_each_field(srd, sdoc, "", "", {"services"},
                 [&](const std::string&, const std::string& field, const YAML::Node& v) {
                   if (v.IsNull()) return;
                   srd.require_map(v, "", field);
                   for (const auto& kv : v) {
                     const std::string name = srd.scalar(kv.first, "", field);
                     auto svc = parse_service(srd, name, kv.second, defaults);
                     if (!config.services.emplace(name, std::move(svc)).second) {
                       srd.fail(kv.first, "services." + name, "", "declared twice");
                     }
                   }
                 });
}

void parse_routes(const Reader& rrd, const YAML::Node& rdoc, const ConfigDefaults& defaults,
                  Config& config) {
  if (!rdoc.IsMap()) throw ConfigError(rrd.file() + ": expected a mapping with 'routes:'");
  for_each_field(rrd, rdoc, "", "", {"routes"},
                 [&](const std::string&, const std::string& field, const YAML::Node& v) {
                   if (v.IsNull()) return;
                   if (!v.IsSequence()) rrd.fail(v, "", field, "expected a list of routes");
                   std::size_t i = 0;
                   for (const auto& item : v) {
                     config.routes.push_back(parse_route(rrd, item, i++, defaults));
                   }
                 });
}

}  // namespace

std::shared_ptr<const Config> finalize_config(Config config) {
  auto c = std::make_shared<Config>(std::move(config));
  for (auto& [name, svc] : c->services) {
    if (svc.name.empty()) svc.name = name;
    if (svc.name != name) {
      invalid(svc.source, "", "name", "'" + svc.name + "' is stored under '" + name + "'");
    }
    validate_service(svc);
  }
  validate_routes(*c);
  try {
    c->router = std::make_shared<const Router>(c->routes);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("config: ") + e.what());
  }
  return c;
}

}  // namespace gatewayd
