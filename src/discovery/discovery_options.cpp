#include "discovery/discovery_options.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "config/settings_table.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd::discovery {

namespace {

// Reads variables through the settings table when they are declared there (typed, validated
// at load), otherwise straight from `raw` with the same syntax, so a variable works as soon as
// it is set even before the table knows it.
class Reader {
 public:
  explicit Reader(const Settings& s) : s_(s) {}

  std::optional<std::string> raw(const std::string& name) const {
    if (find_setting(name) != nullptr) {
      const std::string v = s_.get(name);
      return v.empty() ? std::nullopt : std::optional<std::string>(v);
    }
    const auto it = s_.raw.find(name);
    if (it == s_.raw.end() || trim(it->second).empty()) return std::nullopt;
    return std::string(trim(it->second));
  }

  std::string str(const std::string& name, std::string fallback) const {
    auto v = raw(name);
    return v ? *v : std::move(fallback);
  }

  bool boolean(const std::string& name, bool fallback) const {
    if (find_setting(name) != nullptr) return s_.get_bool(name);
    const auto v = raw(name);
    if (!v) return fallback;
    std::string l = lower(*v);
    if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
    if (l == "false" || l == "0" || l == "no" || l == "off") return false;
    throw SettingsError(name + ": not a bool '" + *v + "'");
  }

  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const {
    std::int64_t value = fallback;
    if (find_setting(name) != nullptr) {
      value = s_.get_int(name);
    } else if (const auto v = raw(name)) {
      const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), value);
      if (ec != std::errc{} || end != v->data() + v->size()) {
        throw SettingsError(name + ": not an integer '" + *v + "'");
      }
    }
    if (value < min || value > max) {
      throw SettingsError(name + ": " + std::to_string(value) + " is outside " +
                          std::to_string(min) + ".." + std::to_string(max));
    }
    return value;
  }

  // A bare number counts in the unit of the name's suffix (_MS or _SECONDS).
  std::chrono::milliseconds duration(const std::string& name, std::chrono::milliseconds fallback,
                                     std::chrono::milliseconds min,
                                     std::chrono::milliseconds max) const {
    std::chrono::milliseconds value = fallback;
    if (find_setting(name) != nullptr) {
      value = s_.get_duration(name);
    } else if (const auto v = raw(name)) {
      value = parse_duration(name, *v);
    }
    if (value < min || value > max) {
      throw SettingsError(name + ": " + std::to_string(value.count()) + " ms is outside " +
                          std::to_string(min.count()) + ".." + std::to_string(max.count()) + " ms");
    }
    return value;
  }

  std::vector<std::string> list(const std::string& name, std::vector<std::string> fallback) const {
    const auto v = raw(name);
    if (!v) return fallback;
    std::vector<std::string> out;
    std::string_view rest = *v;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return out;
  }

  static std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  }

  static std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

 private:
  static std::chrono::milliseconds parse_duration(const std::string& name, std::string_view v) {
    double number = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), number);
    if (ec != std::errc{} || number < 0) {
      throw SettingsError(name + ": not a duration '" + std::string(v) + "'");
    }
    const std::string unit = lower(trim(std::string_view(end, v.data() + v.size() - end)));
    double factor = 0;
    if (unit.empty()) {
      factor = name.ends_with("_SECONDS") ? 1000.0 : 1.0;
    } else if (unit == "ms") {
      factor = 1;
    } else if (unit == "s") {
      factor = 1000;
    } else if (unit == "m") {
      factor = 60'000;
    } else if (unit == "h") {
      factor = 3'600'000;
    } else {
      throw SettingsError(name + ": not a duration '" + std::string(v) + "'");
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(number * factor));
  }

  const Settings& s_;
};

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

const std::vector<std::string> kTypes = {"static", "consul", "nacos", "etcd"};

std::string checked_type(const std::string& name, const std::string& value) {
  const std::string t = Reader::lower(value);
  if (std::find(kTypes.begin(), kTypes.end(), t) == kTypes.end()) {
    throw SettingsError(name + ": unknown discovery type '" + value +
                        "' (static, consul, nacos or etcd)");
  }
  return t;
}

HttpEndpoint checked_endpoint(const std::string& name, const std::string& value,
                              std::uint16_t default_port) {
  const auto ep = parse_http_endpoint(value, default_port);
  if (!ep) throw SettingsError(name + ": not an http address '" + value + "'");
  return *ep;
}

}  // namespace

const std::string& DiscoveryOptions::type_of(const std::string& service) const {
  const auto it = service_types.find(service);
  return it == service_types.end() ? type : it->second;
}

DiscoveryOptions discovery_options_from_settings(const Settings& settings) {
  using std::chrono::milliseconds;
  const Reader r(settings);
  DiscoveryOptions o;

  o.type = checked_type("SERVICE_DISCOVERY_TYPE", r.str("SERVICE_DISCOVERY_TYPE", "static"));
  for (const auto& item : r.list("DISCOVERY_SERVICE_TYPES", {})) {
    const auto eq = item.find_first_of("=:");
    if (eq == std::string::npos || eq == 0) {
      throw SettingsError("DISCOVERY_SERVICE_TYPES: expected service=type, got '" + item + "'");
    }
    o.service_types[std::string(Reader::trim(std::string_view(item).substr(0, eq)))] =
        checked_type("DISCOVERY_SERVICE_TYPES",
                     std::string(Reader::trim(std::string_view(item).substr(eq + 1))));
  }
  o.startup_wait = r.duration("DISCOVERY_STARTUP_WAIT_MS", o.startup_wait, milliseconds(0),
                              milliseconds(600'000));
  o.fallback_static = r.boolean("DISCOVERY_FALLBACK_STATIC", o.fallback_static);

  // Consul
  auto& c = o.consul;
  c.agent.host = r.str("CONSUL_HOST", "localhost");
  c.agent.port = static_cast<std::uint16_t>(r.integer("CONSUL_PORT", 8500, 1, 65535));
  c.token = r.str("CONSUL_TOKEN", "");
  c.datacenter = r.str("CONSUL_DATACENTER", "");
  // Consul caps wait at 10 minutes.
  c.wait = r.duration("CONSUL_WAIT_SECONDS", c.wait, milliseconds(1'000), milliseconds(600'000));
  c.min_interval =
      r.duration("CONSUL_MIN_INTERVAL_MS", c.min_interval, milliseconds(0), milliseconds(600'000));

  // Nacos
  auto& n = o.nacos;
  n.servers.clear();
  for (const auto& item : r.list("NACOS_SERVER_ADDRESSES", {"localhost:8848"})) {
    n.servers.push_back(checked_endpoint("NACOS_SERVER_ADDRESSES", item, 8848));
  }
  if (n.servers.empty()) throw SettingsError("NACOS_SERVER_ADDRESSES: no server given");
  n.namespace_id = r.str("NACOS_NAMESPACE", "public");
  n.group = r.str("NACOS_GROUP", "DEFAULT_GROUP");
  n.clusters = r.str("NACOS_CLUSTERS", "");
  n.username = r.str("NACOS_USERNAME", "");
  n.password = r.str("NACOS_PASSWORD", "");
  const std::string version = Reader::lower(r.str("NACOS_API_VERSION", "v1"));
  if (version == "v1" || version == "1") {
    n.api_version = 1;
  } else if (version == "v2" || version == "2") {
    n.api_version = 2;
  } else {
    throw SettingsError("NACOS_API_VERSION: expected v1 or v2, got '" + version + "'");
  }
  n.poll_min =
      r.duration("NACOS_POLL_MIN_MS", n.poll_min, milliseconds(100), milliseconds(3'600'000));
  n.poll_max = r.duration("NACOS_POLL_MAX_MS", n.poll_max, n.poll_min, milliseconds(3'600'000));

  // etcd
  auto& e = o.etcd;
  e.endpoints.clear();
  for (const auto& item : r.list("ETCD_ENDPOINTS", {"http://127.0.0.1:2379"})) {
    e.endpoints.push_back(checked_endpoint("ETCD_ENDPOINTS", item, 2379));
  }
  if (e.endpoints.empty()) throw SettingsError("ETCD_ENDPOINTS: no endpoint given");
  e.prefix = r.str("ETCD_PREFIX", "/gatewayd/services/");
  e.watch_idle_timeout = r.duration("ETCD_WATCH_IDLE_SECONDS", e.watch_idle_timeout,
                                    milliseconds(1'000), milliseconds(86'400'000));

  // Self-registration
  auto& reg = o.registration;
  reg.enabled = r.boolean("DISCOVERY_SELF_REGISTER", false);
  reg.service_name = settings.cluster_name.empty() ? "gatewayd" : settings.cluster_name;
  reg.address = r.str("DISCOVERY_SELF_ADDRESS", "");
  if (reg.address.empty()) reg.address = host_name();
  reg.port = settings.port;
  const std::string node = settings.node_id.empty() ? reg.address : settings.node_id;
  reg.instance_id = reg.service_name + "-" + node + "-" + std::to_string(reg.port);
  return o;
}

}  // namespace gatewayd::discovery
