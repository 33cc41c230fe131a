// Command-line parsing: `--name value` and `--name=value`; anything unexpected is a UsageError.
#include <string>
#include <string_view>

#include "config/setting_value.hpp"
#include "config/settings_table.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd {
namespace {

namespace sv = setting_value;

struct Flag {
  std::string_view name;
  bool takes_value;
};

constexpr Flag kFlags[] = {
    {"env", true},      {"config-dir", true}, {"host", true},          {"port", true},
    {"workers", true},  {"log-level", true},  {"check-config", false}, {"create-env", false},
    {"init-db", false}, {"verify", false},    {"version", false},      {"help", false},
};

[[noreturn]] void usage_error(const std::string& msg) {
  throw UsageError(msg);
}

std::string checked_value(const char* setting, std::string_view flag, std::string_view value) {
  try {
    return sv::canonical(*find_setting(setting), value, "--" + std::string(flag));
  } catch (const SettingsError& e) {
    usage_error(e.what());
  }
}

}  // namespace

CliOptions parse_cli(int argc, const char* const* argv) {
  CliOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] == nullptr ? std::string_view{} : std::string_view(argv[i]);
    if (arg == "-h") arg = "--help";
    if (arg == "-V") arg = "--version";
    if (arg.substr(0, 2) != "--" || arg.size() == 2) {
      usage_error("unexpected argument '" + std::string(arg) + "'");
    }
    arg.remove_prefix(2);
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const Flag* flag = nullptr;
    for (const auto& f : kFlags) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) usage_error("unknown option --" + std::string(name));

    std::string value;
    if (flag->takes_value) {
      if (inline_value) {
        value = std::string(*inline_value);
      } else if (i + 1 < argc && argv[i + 1] != nullptr &&
                 std::string_view(argv[i + 1]).substr(0, 2) != "--") {
        value = argv[++i];
      } else {  // "--env --port 1" is a forgotten value, not a profile named "--port"
        usage_error("--" + std::string(name) + " needs a value");
      }
      if (value.empty()) usage_error("--" + std::string(name) + " needs a value");
    } else if (inline_value) {
      usage_error("--" + std::string(name) + " takes no value");
    }

    if (name == "env") {
      o.env = value;
    } else if (name == "config-dir") {
      o.config_dir = value;
    } else if (name == "host") {
      o.host = value;
    } else if (name == "port") {
      o.port = static_cast<std::uint16_t>(std::stoul(checked_value("PORT", name, value)));
    } else if (name == "workers") {
      o.workers = static_cast<unsigned>(std::stoul(checked_value("WORKERS", name, value)));
    } else if (name == "log-level") {
      o.log_level = checked_value("LOG_LEVEL", name, value);
    } else if (name == "check-config") {
      o.check_config = true;
    } else if (name == "create-env") {
      o.create_env = true;
    } else if (name == "init-db") {
      o.init_db = true;
    } else if (name == "verify") {
      o.verify = true;
    } else if (name == "version") {
      o.version = true;
    } else if (name == "help") {
      o.help = true;
    }
  }
  if (o.env.empty()) usage_error("--env needs a value");
  for (char c : o.env) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok || o.env.front() == '.') usage_error("--env: invalid profile name '" + o.env + "'");
  }
  return o;
}

std::string usage_text() {
  return R"(Usage: gatewayd [options]

Options:
  --env NAME          settings profile: reads .env, then .env.NAME (default: "default",
                      which reads .env only)
  --config-dir DIR    folder of routes.yaml and services.yaml (CONFIG_DIR, default: config)
  --host H            public listener address (HOST, default: 0.0.0.0)
  --port P            public listener port (PORT, default: 8001)
  --workers N         event-loop threads, 0 = one per core (WORKERS, default: 0)
  --log-level L       trace, debug, info, warning, error, critical or off (LOG_LEVEL)
  --check-config      validate settings, routes and services, then exit (0 valid, 1 not)
  --create-env        write the .env file of the --env profile when it is missing, then exit
  --init-db           create the MySQL database and apply the schema, then exit
  --verify            check Redis, MySQL, discovery, upstreams, directories and keys, then exit
  --version           print the version and exit
  --help              print this help and exit

Values are read from built-in defaults, .env, .env.NAME, the process environment and these
flags, later ones winning. Options take "--name value" or "--name=value".
)";
}

}  // namespace gatewayd
