#pragma once
// The rules file (RATE_LIMIT_RULES_FILE, default `rate_limits.yaml` in CONFIG_DIR): rule sets
// kept with the routes, read at start-up, by `--check-config` and on every reload (SIGHUP, file
// change, POST /admin/reload). The file is optional; a missing file means no file rules.
//
//   rules:
//     - rule_name: search-per-ip
//       limit_type: per_ip            # per_user | per_ip | per_api_key | per_endpoint | global
//       path_pattern: /api/search/**  # empty or absent: every path
//       max_requests: 30
//       window_seconds: 60            # default 60
//       burst: 10                     # bucket capacity; default max_requests
//       is_active: true               # default true
//
// File rules are merged with the `rate_limit_rules` table (merge_rule_specs: the table wins on
// the same rule_name).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/rate_limit/rate_limit_rule.hpp"

namespace gatewayd {
struct Settings;
}

namespace gatewayd::ratelimit {

// <CONFIG_DIR>/<RATE_LIMIT_RULES_FILE> (an absolute setting is used as it is); empty when the
// setting is empty (no rules file).
std::string rule_file_path(const Settings& settings);

// Parses the text of a rules file. An empty document means no rules. Throws
// std::invalid_argument naming `source`, the entry and the field.
std::vector<RateLimitRuleSpec> parse_rule_file(std::string_view text, std::string_view source);

// Reads and parses `path`; nullopt when the file does not exist. Throws std::invalid_argument
// naming the file for anything unreadable or invalid.
std::optional<std::vector<RateLimitRuleSpec>> load_rule_file(const std::string& path);

// The rules of the file the settings name (none when the setting is empty or the file is
// missing). Throws like load_rule_file.
std::vector<RateLimitRuleSpec> load_rule_file(const Settings& settings);

}  // namespace gatewayd::ratelimit
