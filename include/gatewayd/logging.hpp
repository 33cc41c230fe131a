#pragma once
// Structured logs in separate files under LOG_DIRECTORY: application, error, access, request,
// audit. Writes go through spdlog's asynchronous thread pool so the event loop never waits on
// file I/O; rotation by LOG_MAX_BYTES / LOG_BACKUP_COUNT; LOG_FORMAT=json|text; LOG_TO_STDOUT
// mirrors everything to stdout for containers.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace gatewayd {
struct Settings;
}

namespace gatewayd::logging {

// Creates the loggers. Safe to call again after a settings change (replaces them).
// Before init(), every accessor returns a stderr logger so start-up errors are visible.
void init(const Settings& settings);
void shutdown();  // flushes and stops the async pool

spdlog::logger& app();      // application.log: lifecycle, config reloads, warnings
spdlog::logger& error();    // error.log: errors (app() errors are mirrored here)
spdlog::logger& access();   // access.log: one line per request
spdlog::logger& request();  // request.log: request details at debug level
spdlog::logger& audit();    // audit.log: security and admin events

bool access_enabled() noexcept;
std::uint64_t dropped_messages() noexcept;  // async queue overruns

// One access-log line. Strings are views valid for the duration of the call.
struct AccessEntry {
  std::string_view request_id, trace_id, client_ip, method, target, route, service, upstream,
      error_code, user_agent, user_id;
  unsigned status = 0;
  double duration_ms = 0;
  double upstream_ms = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
};
void log_access(const AccessEntry& entry);  // formats per LOG_FORMAT, no-op when disabled

// Audit event as a JSON object line in audit.log: {"event":..,"fields":..}
void log_audit(std::string_view event_type, std::string_view details_json);

}  // namespace gatewayd::logging
