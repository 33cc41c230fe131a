#pragma once
// `gatewayd --verify`: checks, one after the other, everything the gateway depends on outside
// its own process (configuration and JWT keys, log and spool directories, MySQL and its schema,
// Redis, the discovery backend, every configured upstream, the tracing collector) and prints a
// table with one row per check. Every network check is bounded by a short timeout, so an
// unreachable service costs seconds, not the kernel's connect timeout.
#include <iosfwd>
#include <string>
#include <vector>

#include "gatewayd/config.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd::verify {

enum class Status { kOk, kFail, kSkip };

struct CheckResult {
  std::string check;  // "redis", "upstream demo 127.0.0.1:8002", ...
  Status status = Status::kOk;
  std::string detail;  // what was found
  std::string hint;    // what to do about a failure; may be empty
};

// Problems of `config` under the auth settings: what start-up would refuse (routes needing JWT
// keys that are not configured, unreadable key files, malformed JWT_* values). Empty when fine.
std::vector<std::string> auth_route_problems(const Settings& settings, const Config& config);

// Runs every check in order.
std::vector<CheckResult> run_checks(const Settings& settings);

// The rows as an aligned `CHECK  STATUS  DETAIL` table, one line per check.
std::string format_table(const std::vector<CheckResult>& results);

bool any_failed(const std::vector<CheckResult>& results);

// Runs the checks, prints the table to `out` and returns the exit code (0: no FAIL, 1 otherwise).
int run_verify(const Settings& settings, std::ostream& out);

}  // namespace gatewayd::verify
