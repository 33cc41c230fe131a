#pragma once
// Process-level settings: defaults < .env < .env.<env> < real environment < CLI flags.
// Every variable is declared once in the settings table (src/config/settings_table.cpp), which
// also produces .env.example and docs/CONFIGURATION.md, so the docs cannot drift from the code.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gatewayd {

struct Settings {
  // Server
  std::string environment = "default";
  bool debug = false;
  std::string host = "0.0.0.0";
  std::uint16_t port = 8001;
  unsigned workers = 0;  // 0 = number of cores
  std::string config_dir = "config";
  std::string routes_file = "routes.yaml";      // relative to config_dir
  std::string services_file = "services.yaml";  // relative to config_dir
  unsigned shutdown_grace_seconds = 15;
  std::string node_id;  // CLUSTER_NODE_ID, default host name
  std::string cluster_name = "gatewayd";
  std::string deployment_mode = "single";

  // Downstream protection
  std::size_t max_header_bytes = 16 * 1024;                 // 431 past this
  std::size_t max_uri_length = 8 * 1024;                    // 414 past this
  std::size_t max_headers = 100;                            // 431 past this many fields
  std::uint64_t max_body_bytes = 10 * 1024 * 1024;          // 413 unless the route says otherwise
  std::chrono::milliseconds header_timeout{10'000};         // 408 when the head is this slow
  std::chrono::milliseconds keepalive_timeout{60'000};      // idle keep-alive connections close
  std::chrono::milliseconds body_timeout{60'000};           // per read of a request body
  std::size_t max_connections = 10'000;                     // per process
  std::vector<std::string> trusted_proxies;                 // CIDRs whose X-Forwarded-For is kept
  std::chrono::milliseconds tls_handshake_timeout{10'000};  // TLS listener only

  // Upstream connection pools
  std::size_t upstream_max_idle = 64;  // idle keep-alive connections per endpoint per worker
  std::chrono::milliseconds upstream_idle_timeout{60'000};
  std::chrono::milliseconds upstream_connect_timeout{5'000};
  std::string load_balancer_strategy = "round_robin";

  // Admin listener
  std::string admin_host = "127.0.0.1";
  std::uint16_t admin_port = 9901;
  std::string admin_token;  // empty = admin API refuses mutating calls

  // Logging
  std::string log_level = "info";
  std::string log_format = "json";  // json | text
  std::string log_directory = "./logs";
  std::string log_request_file = "request.log";
  std::string log_error_file = "error.log";
  std::string log_access_file = "access.log";
  std::string log_audit_file = "audit.log";
  std::string log_application_file = "application.log";
  std::uint64_t log_max_bytes = 10 * 1024 * 1024;
  unsigned log_backup_count = 5;
  bool log_to_stdout = false;
  bool access_log_enabled = true;
  bool watch_config = true;  // reload when routes/services files change

  // Data
  std::string data_directory = "./data";

  // Every variable as finally resolved (name → value), secrets included; use redacted() to show.
  std::map<std::string, std::string> raw;

  // Problems worth a log line that do not stop start-up (unknown keys in .env files, ...).
  std::vector<std::string> warnings;
  // The .env files that were read, in order.
  std::vector<std::string> loaded_files;

  // Typed lookups of the variables owned by later modules (JWT_*, REDIS_*, MYSQL_*, ...), all
  // declared in the settings table; they throw SettingsError for malformed values.
  std::string get(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  // Durations accept a bare number in the variable's unit (_MS / _SECONDS) or 250ms, 5s, 2m, 1h.
  std::chrono::milliseconds get_duration(const std::string& name) const;
  // Comma-separated lists; blanks around items and empty items are dropped.
  std::vector<std::string> get_list(const std::string& name) const;

  std::map<std::string, std::string> redacted() const;
};

class SettingsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Command-line result. Parse errors throw UsageError (exit code 2).
struct CliOptions {
  std::string env = "default";
  std::optional<std::string> config_dir, host, log_level;
  std::optional<std::uint16_t> port;
  std::optional<unsigned> workers;
  bool check_config = false, create_env = false, version = false, help = false;
  bool init_db = false, verify = false;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

CliOptions parse_cli(int argc, const char* const* argv);  // throws UsageError
std::string usage_text();

// Loads .env then .env.<env> from `base_dir`, then the process environment, then CLI flags.
// Throws SettingsError naming the variable for malformed values or unknown profile files.
Settings load_settings(const CliOptions& cli, const std::string& base_dir = ".");
// The same with an explicit process environment instead of ::environ (tests, embedding).
Settings load_settings(const CliOptions& cli, const std::string& base_dir,
                       const std::map<std::string, std::string>& environment);

// Writes `.env.<env>` (or `.env` for "default") from the settings table unless it exists.
// Returns true when a file was written.
bool create_env_file(const std::string& base_dir, const std::string& env);

// The text of .env.example, from the settings table.
std::string env_example_text();

// The text of a bundled profile: `.env.dev` / `.env.prod` for "dev" / "prod", otherwise
// env_example_text() under a heading naming the profile.
std::string env_profile_text(const std::string& env);

// The text of docs/CONFIGURATION.md, from the settings table and the CLI.
std::string configuration_reference_text();

}  // namespace gatewayd
