// gatewayd: CLI entry point. Exit codes: 0 success, 1 start-up/config error, 2 usage error.
#include <algorithm>
#include <iostream>

#include "app/app.hpp"
#include "app/verify.hpp"
#include "config/config_loader.hpp"
#include "filters/rate_limit/rule_file.hpp"
#include "gatewayd/logging.hpp"
#include "gatewayd/settings.hpp"
#include "persistence/persistence_settings.hpp"
#include "persistence/schema.hpp"
#include "server/tls_context.hpp"
#include "server/upstream_tls.hpp"

#ifndef GATEWAYD_VERSION
#define GATEWAYD_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  using namespace gatewayd;
  CliOptions cli;
  try {
    cli = parse_cli(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "gatewayd: " << e.what() << "\n\n" << usage_text();
    return 2;
  }
  if (cli.help) {
    std::cout << usage_text();
    return 0;
  }
  if (cli.version) {
    std::cout << "gatewayd " << GATEWAYD_VERSION << "\n";
    return 0;
  }
  if (cli.create_env) {
    const std::string name = cli.env == "default" ? ".env" : ".env." + cli.env;
    try {
      const bool written = create_env_file(".", cli.env);
      std::cout << (written ? "wrote " : "kept existing ") << name << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "gatewayd: cannot write " << name << ": " << e.what() << "\n";
      return 1;
    }
  }

  Settings settings;
  try {
    settings = load_settings(cli, ".");
  } catch (const std::exception& e) {
    std::cerr << "gatewayd: invalid settings: " << e.what() << "\n";
    return 1;
  }
  for (const auto& w : settings.warnings) std::cerr << "gatewayd: warning: " << w << "\n";

  if (cli.check_config) {
    try {
      const auto config = load_config(settings);
      // Start-up refuses routes the auth settings cannot serve; so does the check.
      if (const auto problems = verify::auth_route_problems(settings, *config); !problems.empty()) {
        std::cerr << "gatewayd: configuration invalid: routes cannot be served with the auth "
                     "settings:\n";
        for (const auto& p : problems) std::cerr << "  " << p << "\n";
        return 1;
      }
      // The listener's certificate and key, and the upstreams' TLS files, must be usable.
      if (const auto problem = tls::check_listener_files(settings); !problem.empty()) {
        std::cerr << "gatewayd: configuration invalid: " << problem << "\n";
        return 1;
      }
      std::vector<std::string> tls_warnings;
      UpstreamTls::build(settings, *config, &tls_warnings);
      for (const auto& w : tls_warnings) std::cerr << "gatewayd: warning: " << w << "\n";
      // The rate-limit rules file is part of the configuration, whether or not limiting is on.
      const auto rules = ratelimit::load_rule_file(settings);
      const auto active = std::count_if(rules.begin(), rules.end(),
                                        [](const auto& rule) { return rule.is_active; });
      std::cout << "gatewayd: configuration ok (" << config->routes.size() << " routes, "
                << config->services.size() << " services, " << rules.size()
                << " rate-limit rules in the file, " << active << " active)\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "gatewayd: configuration invalid: " << e.what() << "\n";
      return 1;
    }
  }

  if (cli.verify) return verify::run_verify(settings, std::cout);

  if (cli.init_db) {
    // Creates the database and applies the schema (idempotent), like running
    // scripts/database/init_database.sql with the mysql client.
    try {
      const auto options = persistence::mysql_options_from(settings);
      const auto result = persistence::init_database(options);
      std::cout << "gatewayd: database " << describe(options) << " ready (server "
                << result.server_version << ", schema version " << result.schema_version << ")\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "gatewayd: --init-db failed: " << e.what() << "\n";
      return 1;
    }
  }

  try {
    logging::init(settings);
    App app(std::move(settings));
    const int code = app.run();
    logging::shutdown();
    return code;
  } catch (const std::exception& e) {
    std::cerr << "gatewayd: " << e.what() << "\n";
    logging::shutdown();
    return 1;
  }
}
