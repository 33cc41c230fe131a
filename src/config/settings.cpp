// Settings loading: defaults < .env < .env.<env> < process environment < CLI flags.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/dotenv.hpp"
#include "config/setting_value.hpp"
#include "config/settings_table.hpp"
#include "gatewayd/settings.hpp"

extern char** environ;  // NOLINT: POSIX

namespace gatewayd {
namespace {

namespace fs = std::filesystem;
namespace sv = setting_value;

struct Layered {
  std::string value;
  std::string source;
};

const SettingSpec& spec_of(const std::string& name) {
  const auto* spec = find_setting(name);
  if (spec == nullptr) throw SettingsError("unknown setting " + name);
  return *spec;
}

// Small edit distance for "did you mean" hints on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(std::string_view key) {
  std::string best;
  std::size_t best_distance = 3;  // only close typos
  for (const auto& spec : settings_table()) {
    const auto d = edit_distance(key, spec.name);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(spec.name);
    }
  }
  return best.empty() ? std::string() : " (did you mean " + best + "?)";
}

void validate_profile_name(const std::string& env) {
  const bool ok = !env.empty() && env.size() <= 64 && env.front() != '.' &&
                  std::all_of(env.begin(), env.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                  });
  if (!ok) {
    throw SettingsError("invalid profile name '" + env +
                        "': use letters, digits, '-', '_' and '.'");
  }
}

std::string profile_file_name(const std::string& env) {
  return env == "default" ? std::string(".env") : ".env." + env;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SettingsError("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw SettingsError("cannot read " + path.string());
  return ss.str();
}

class Resolver {
 public:
  // Applies one value from one source; the variable's type is checked here so the error names
  // the source that holds the bad value.
  void set(const SettingSpec& spec, std::string_view value, const std::string& source) {
    if (value.empty() && sv::empty_means_unset(spec)) return;
    values_[std::string(spec.name)] = {sv::canonical(spec, value, source), source};
  }

  void apply_file(const fs::path& path, std::vector<std::string>& warnings) {
    const std::string file = path.string();
    for (const auto& entry : parse_dotenv(read_text_file(path), file)) {
      const std::string source = file + ":" + std::to_string(entry.line);
      const auto* spec = find_setting(entry.key);
      if (spec == nullptr) {
        warnings.push_back(source + ": unknown setting " + entry.key + " ignored" +
                           suggestion(entry.key));
        continue;
      }
      set(*spec, entry.value, source);
    }
  }

  const Layered* find(std::string_view name) const {
    const auto it = values_.find(std::string(name));
    return it == values_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, Layered> values_;
};

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "gatewayd";
  return buf;
}

void fill_typed(Settings& s) {
  const auto u = [&](const char* name) { return static_cast<std::uint64_t>(s.get_int(name)); };
  s.environment = s.get("ENVIRONMENT");
  s.debug = s.get_bool("DEBUG");
  s.host = s.get("HOST");
  s.port = static_cast<std::uint16_t>(s.get_int("PORT"));
  s.workers = static_cast<unsigned>(s.get_int("WORKERS"));
  s.config_dir = s.get("CONFIG_DIR");
  s.routes_file = s.get("ROUTES_FILE");
  s.services_file = s.get("SERVICES_FILE");
  s.shutdown_grace_seconds = static_cast<unsigned>(s.get_int("SHUTDOWN_GRACE_SECONDS"));
  s.node_id = s.get("CLUSTER_NODE_ID");
  if (s.node_id.empty()) s.node_id = host_name();
  s.cluster_name = s.get("CLUSTER_NAME");
  s.deployment_mode = s.get_bool("CLUSTER_ENABLED") ? "cluster" : s.get("DEPLOYMENT_MODE");

  s.max_header_bytes = u("MAX_HEADER_BYTES");
  s.max_uri_length = u("MAX_URI_LENGTH");
  s.max_headers = u("MAX_HEADERS");
  s.max_body_bytes = u("MAX_BODY_BYTES");
  s.header_timeout = s.get_duration("HEADER_TIMEOUT_MS");
  s.keepalive_timeout = s.get_duration("KEEPALIVE_TIMEOUT_MS");
  s.body_timeout = s.get_duration("BODY_TIMEOUT_MS");
  s.tls_handshake_timeout = s.get_duration("TLS_HANDSHAKE_TIMEOUT_MS");
  s.max_connections = u("MAX_CONNECTIONS");
  s.trusted_proxies = s.get_list("TRUSTED_PROXIES");

  s.upstream_max_idle = u("UPSTREAM_MAX_IDLE");
  s.upstream_idle_timeout = s.get_duration("UPSTREAM_IDLE_TIMEOUT_MS");
  s.upstream_connect_timeout = s.get_duration("UPSTREAM_CONNECT_TIMEOUT_MS");
  s.load_balancer_strategy = s.get("LOAD_BALANCER_STRATEGY");

  s.admin_host = s.get("ADMIN_HOST");
  s.admin_port = static_cast<std::uint16_t>(s.get_int("ADMIN_PORT"));
  s.admin_token = s.get("ADMIN_TOKEN");

  s.log_level = s.get("LOG_LEVEL");
  s.log_format = s.get("LOG_FORMAT");
  s.log_directory = s.get("LOG_DIRECTORY");
  s.log_request_file = s.get("LOG_REQUEST_FILE");
  s.log_error_file = s.get("LOG_ERROR_FILE");
  s.log_access_file = s.get("LOG_ACCESS_FILE");
  s.log_audit_file = s.get("LOG_AUDIT_FILE");
  s.log_application_file = s.get("LOG_APPLICATION_FILE");
  s.log_max_bytes = u("LOG_MAX_BYTES");
  s.log_backup_count = static_cast<unsigned>(s.get_int("LOG_BACKUP_COUNT"));
  s.log_to_stdout = s.get_bool("LOG_TO_STDOUT");
  s.access_log_enabled = s.get_bool("ACCESS_LOG_ENABLED");
  s.watch_config = s.get_bool("CONFIG_WATCH");

  s.data_directory = s.get("DATA_DIRECTORY");
}

// Rules that involve more than one variable.
void cross_check(const Settings& s) {
  if (s.get("TLS_CERT_FILE").empty() != s.get("TLS_KEY_FILE").empty()) {
    throw SettingsError("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  }
  const bool tls = !s.get("TLS_CERT_FILE").empty();
  if (s.get("TLS_CLIENT_VERIFY") != "none") {
    if (!tls) throw SettingsError("TLS_CLIENT_VERIFY needs TLS_CERT_FILE and TLS_KEY_FILE");
    if (s.get("TLS_CLIENT_CA_FILE").empty()) {
      throw SettingsError("TLS_CLIENT_VERIFY=" + s.get("TLS_CLIENT_VERIFY") +
                          " needs TLS_CLIENT_CA_FILE");
    }
  }
  if (const auto redirect = s.get_int("HTTP_REDIRECT_PORT"); redirect != 0) {
    if (!tls) throw SettingsError("HTTP_REDIRECT_PORT needs TLS_CERT_FILE and TLS_KEY_FILE");
    if (redirect == s.port) throw SettingsError("HTTP_REDIRECT_PORT must differ from PORT");
  }
  if (s.get("UPSTREAM_CLIENT_CERT_FILE").empty() != s.get("UPSTREAM_CLIENT_KEY_FILE").empty()) {
    throw SettingsError(
        "UPSTREAM_CLIENT_CERT_FILE and UPSTREAM_CLIENT_KEY_FILE must be set together");
  }
  if (s.get_bool("REDIS_CLUSTER_ENABLED") && s.get_list("REDIS_CLUSTER_NODES").empty()) {
    throw SettingsError("REDIS_CLUSTER_ENABLED=true needs REDIS_CLUSTER_NODES");
  }
  if (s.get("ROUTES_FILE").empty() || s.get("SERVICES_FILE").empty()) {
    throw SettingsError("ROUTES_FILE and SERVICES_FILE must not be empty");
  }
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = kv.substr(0, eq);
    if (find_setting(key) != nullptr) env.emplace(key, kv.substr(eq + 1));
  }
  return env;
}

}  // namespace

// ---------------------------------------------------------------------------- getters

std::string Settings::get(const std::string& name) const {
  const auto& spec = spec_of(name);
  const auto it = raw.find(name);
  return it == raw.end() ? std::string(spec.default_value) : it->second;
}

bool Settings::get_bool(const std::string& name) const {
  const auto& spec = spec_of(name);
  const auto v = sv::parse_bool(get(name));
  if (!v) {
    throw SettingsError(name + ": not a bool" + (spec.secret ? "" : " '" + get(name) + "'"));
  }
  return *v;
}

std::int64_t Settings::get_int(const std::string& name) const {
  const auto& spec = spec_of(name);
  const std::string value = get(name);
  if (spec.type == SettingType::kDuration) {
    const auto ms = sv::parse_duration_ms(value, spec.unit);
    if (!ms) throw SettingsError(name + ": not a duration '" + value + "'");
    return static_cast<std::int64_t>(spec.unit == "s" ? *ms / 1000.0 : *ms);
  }
  const auto v = sv::parse_int(value);
  if (!v) throw SettingsError(name + ": not an integer" + (spec.secret ? "" : " '" + value + "'"));
  return *v;
}

double Settings::get_double(const std::string& name) const {
  const auto& spec = spec_of(name);
  const std::string value = get(name);
  if (spec.type == SettingType::kDuration) {
    const auto ms = sv::parse_duration_ms(value, spec.unit);
    if (!ms) throw SettingsError(name + ": not a duration '" + value + "'");
    return spec.unit == "s" ? *ms / 1000.0 : *ms;
  }
  const auto v = sv::parse_double(value);
  if (!v) throw SettingsError(name + ": not a number" + (spec.secret ? "" : " '" + value + "'"));
  return *v;
}

std::chrono::milliseconds Settings::get_duration(const std::string& name) const {
  const auto& spec = spec_of(name);
  const std::string value = get(name);
  if (spec.type == SettingType::kDuration) {
    const auto ms = sv::parse_duration_ms(value, spec.unit);
    if (!ms) throw SettingsError(name + ": not a duration '" + value + "'");
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*ms)));
  }
  // Integer variables whose name carries the unit.
  const std::string_view n(name);
  const auto ends = [&](std::string_view suffix) {
    return n.size() >= suffix.size() && n.substr(n.size() - suffix.size()) == suffix;
  };
  std::int64_t factor = 0;
  if (ends("_MS"))
    factor = 1;
  else if (ends("_SECONDS"))
    factor = 1000;
  else if (ends("_MINUTES"))
    factor = 60'000;
  else if (ends("_DAYS"))
    factor = 86'400'000;
  if (factor == 0 || spec.type != SettingType::kInt) {
    throw SettingsError(name + ": not a duration setting");
  }
  return std::chrono::milliseconds(get_int(name) * factor);
}

std::vector<std::string> Settings::get_list(const std::string& name) const {
  spec_of(name);
  return sv::split_list(get(name));
}

std::map<std::string, std::string> Settings::redacted() const {
  std::map<std::string, std::string> out = raw;
  for (auto& [name, value] : out) {
    const auto* spec = find_setting(name);
    if (spec != nullptr && spec->secret && !value.empty()) value = "***";
  }
  return out;
}

// ---------------------------------------------------------------------------- loading

Settings load_settings(const CliOptions& cli, const std::string& base_dir) {
  return load_settings(cli, base_dir, process_environment());
}

Settings load_settings(const CliOptions& cli, const std::string& base_dir,
                       const std::map<std::string, std::string>& environment) {
  Settings s;
  Resolver layers;
  const fs::path base(base_dir.empty() ? "." : base_dir);

  // The profile: the flag, else ENVIRONMENT from the process environment, else from .env.
  std::string profile = cli.env.empty() ? std::string("default") : cli.env;
  bool profile_chosen = profile != "default";
  if (!profile_chosen) {
    if (const auto it = environment.find("ENVIRONMENT");
        it != environment.end() && !it->second.empty()) {
      profile = it->second;
      profile_chosen = true;
    }
  }
  validate_profile_name(profile);

  const fs::path dot_env = base / ".env";
  std::error_code ec;
  if (fs::is_regular_file(dot_env, ec)) {
    layers.apply_file(dot_env, s.warnings);
    s.loaded_files.push_back(dot_env.string());
    if (!profile_chosen) {
      if (const auto* from_file = layers.find("ENVIRONMENT");
          from_file != nullptr && !from_file->value.empty()) {
        profile = from_file->value;
        validate_profile_name(profile);
      }
    }
  } else if (fs::exists(dot_env, ec)) {
    throw SettingsError(dot_env.string() + " is not a regular file");
  }

  if (profile != "default") {
    const fs::path file = base / profile_file_name(profile);
    if (!fs::is_regular_file(file, ec)) {
      throw SettingsError("settings profile '" + profile + "': " + file.string() +
                          " not found (gatewayd --env " + profile + " --create-env writes one)");
    }
    layers.apply_file(file, s.warnings);
    s.loaded_files.push_back(file.string());
  }

  for (const auto& spec : settings_table()) {
    if (const auto it = environment.find(std::string(spec.name)); it != environment.end()) {
      layers.set(spec, it->second, "the environment");
    }
  }

  const auto flag = [&](const char* name, const std::optional<std::string>& v, const char* f) {
    if (v) layers.set(*find_setting(name), *v, std::string("command-line flag ") + f);
  };
  flag("CONFIG_DIR", cli.config_dir, "--config-dir");
  flag("HOST", cli.host, "--host");
  flag("LOG_LEVEL", cli.log_level, "--log-level");
  if (cli.port) flag("PORT", std::to_string(*cli.port), "--port");
  if (cli.workers) flag("WORKERS", std::to_string(*cli.workers), "--workers");

  for (const auto& spec : settings_table()) {
    const auto* v = layers.find(spec.name);
    s.raw[std::string(spec.name)] = v != nullptr ? v->value : std::string(spec.default_value);
  }
  s.raw["ENVIRONMENT"] = profile;

  fill_typed(s);
  cross_check(s);
  return s;
}

bool create_env_file(const std::string& base_dir, const std::string& env) {
  validate_profile_name(env);
  const fs::path path = fs::path(base_dir.empty() ? "." : base_dir) / profile_file_name(env);
  // "x": fail rather than replace, even when another process creates the file meanwhile.
  std::FILE* f = std::fopen(path.c_str(), "wx");
  if (f == nullptr) {
    if (errno == EEXIST) return false;
    throw SettingsError("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  const std::string text = env_profile_text(env);
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    throw SettingsError("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return true;
}

}  // namespace gatewayd
