#pragma once
// Structured logs in separate files under LOG_DIRECTORY: application, error, access, request,
// audit. Writes go through spdlog's asynchronous thread pool so the event loop never waits on
// file I/O; rotation by LOG_MAX_BYTES / LOG_BACKUP_COUNT; LOG_FORMAT=json|text; LOG_TO_STDOUT
// mirrors everything to stdout for containers.
#include <spdlog/logger.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gatewayd {
struct Settings;
}

namespace gatewayd::logging {

// Creates the loggers. Safe to call again after a settings change (replaces them).
// Before init(), every accessor returns a stderr logger so start-up errors are visible.
// Throws std::runtime_error naming the variable or path when LOG_LEVEL / LOG_FORMAT is invalid
// or the directory or a file cannot be created (a start-up error).
//
// All loggers share one spdlog thread pool (one thread, kQueueSize messages, about 400 bytes
// each). The overflow policy is overrun_oldest for every logger, audit and error included: the
// event loop never waits for the disk; when the queue is full the oldest queued line is dropped
// and counted (dropped_messages(), gatewayd_log_dropped_total). Lines are flushed to the files
// every second, and at once for warnings and above and for audit events.
inline constexpr std::size_t kQueueSize = 8192;
void init(const Settings& settings);
// Flushes and stops the async pool; the accessors return the stderr logger again. Call it after
// the threads that log have stopped: references obtained earlier become invalid.
void shutdown();
void flush();  // asks the pool to flush every file (asynchronous)

spdlog::logger& app();      // application.log: lifecycle, config reloads, warnings
spdlog::logger& error();    // error.log: errors (app() errors are mirrored here)
spdlog::logger& access();   // access.log: one line per request
spdlog::logger& request();  // request.log: request details at debug level
spdlog::logger& audit();    // audit.log: security and admin events

bool access_enabled() noexcept;
std::uint64_t dropped_messages() noexcept;  // async queue overruns
bool json_format() noexcept;                // LOG_FORMAT=json (the default)

// "trace", "debug", "info", "warning"/"warn", "error", "critical", "off", any case.
std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept;
// Changes the level of the application, error and request loggers at run time.
void set_level(spdlog::level::level_enum level) noexcept;

// A structured field of an event line: a JSON member, or key=value in text format.
class Field {
 public:
  enum class Kind : std::uint8_t { kString, kInt, kUint, kDouble, kBool };
  Field(std::string_view key, std::string_view value) noexcept : key_(key), str_(value) {}
  Field(std::string_view key, const char* value) noexcept : key_(key), str_(value) {}
  Field(std::string_view key, const std::string& value) noexcept : key_(key), str_(value) {}
  Field(std::string_view key, bool value) noexcept : key_(key), kind_(Kind::kBool), b_(value) {}
  template <std::signed_integral T>
  requires(!std::same_as<T, bool>) Field(std::string_view key, T value)
  noexcept : key_(key), kind_(Kind::kInt), i_(value) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) Field(std::string_view key, T value)
  noexcept : key_(key), kind_(Kind::kUint), u_(value) {}
  template <std::floating_point T>
  Field(std::string_view key, T value) noexcept : key_(key), kind_(Kind::kDouble), d_(value) {}

  std::string_view key() const noexcept { return key_; }
  Kind kind() const noexcept { return kind_; }
  std::string_view str() const noexcept { return str_; }
  std::int64_t int_value() const noexcept { return i_; }
  std::uint64_t uint_value() const noexcept { return u_; }
  double double_value() const noexcept { return d_; }
  bool bool_value() const noexcept { return b_; }

 private:
  std::string_view key_;
  Kind kind_ = Kind::kString;
  std::string_view str_;
  std::int64_t i_ = 0;
  std::uint64_t u_ = 0;
  double d_ = 0;
  bool b_ = false;
};

// One event with fields: {"ts":..,"level":..,"logger":..,"msg":..,"key":value,...} in JSON.
// Keys are expected to be plain identifiers; values are escaped.
void log_event(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view msg,
               std::initializer_list<Field> fields);

// One access-log line. Strings are views valid for the duration of the call.
struct AccessEntry {
  std::string_view request_id, trace_id, client_ip, method, target, route, service, upstream,
      error_code, user_agent, user_id;
  unsigned status = 0;
  double duration_ms = 0;
  double upstream_ms = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
};
// Formats per LOG_FORMAT, no-op when disabled. Values of credential-bearing query parameters
// in `target` (api_key, access_token, password, ...) are written as REDACTED.
void log_access(const AccessEntry& entry);

// Audit event as a JSON object line in audit.log: {..,"msg":"audit","event":..,"details":{..}}.
// `details_json` must be a JSON object text (empty means {}); it is written as given.
void log_audit(std::string_view event_type, std::string_view details_json);

}  // namespace gatewayd::logging
