#include "gatewayd/logging.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gatewayd/metrics.hpp"
#include "gatewayd/settings.hpp"
#include "observability/json_text.hpp"
#include "observability/log_formatter.hpp"
#include "observability/redact.hpp"

namespace gatewayd::logging {

namespace {

namespace fs = std::filesystem;
using SinkPtr = std::shared_ptr<spdlog::sinks::sink>;

// Forwards records at or above a level to another sink: app() warnings and errors also land in
// error.log, through the same file sink the error logger writes to.
class MinLevelSink final : public spdlog::sinks::sink {
 public:
  MinLevelSink(SinkPtr target, spdlog::level::level_enum min)
      : target_(std::move(target)), min_(min) {}
  void log(const spdlog::details::log_msg& msg) override {
    if (msg.level >= min_) target_->log(msg);
  }
  void flush() override { target_->flush(); }
  // The target keeps the formatter it was given; this sink has none of its own.
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

 private:
  SinkPtr target_;
  spdlog::level::level_enum min_;
};

struct LoggerSet {
  std::shared_ptr<spdlog::logger> app, error, access, request, audit;
  bool json = false;
  bool access_enabled = false;

  void for_each(const auto& fn) const {
    for (const auto* l : {&app, &error, &access, &request, &audit}) fn(**l);
  }
};

LoggerSet make_fallback() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::make_unique<LogFormatter>(false));
  const auto make = [&](const char* name) {
    auto l = std::make_shared<spdlog::logger>(name, sink);
    l->set_level(spdlog::level::info);
    return l;
  };
  LoggerSet set{make("application"), make("error"), make("access"), make("request"), make("audit")};
  set.access_enabled = false;
  return set;
}

class State {
 public:
  ~State() { shutdown(); }

  LoggerSet& current() noexcept {
    LoggerSet* set = current_.load(std::memory_order_acquire);
    return set != nullptr ? *set : fallback();
  }

  static LoggerSet& fallback() {
    static LoggerSet set = make_fallback();
    return set;
  }

  void init(const Settings& settings);
  void shutdown();
  void flush_all() noexcept;

  std::uint64_t dropped() noexcept {
    std::lock_guard lock(pool_mutex_);
    return dropped_base_ + (pool_ ? pool_->overrun_counter() : 0);
  }

  void set_level(spdlog::level::level_enum level) noexcept {
    std::lock_guard lock(mutex_);
    level_ = level;
    auto& set = current();
    set.app->set_level(level);
    set.error->set_level(std::max(level, spdlog::level::warn));
    set.request->set_level(level);
  }

 private:
  void start_flusher();
  void stop_flusher();

  std::mutex mutex_;  // init / shutdown / set_level
  std::atomic<LoggerSet*> current_{nullptr};
  std::vector<std::unique_ptr<LoggerSet>> sets_;  // current and replaced ones, freed at shutdown
  spdlog::level::level_enum level_ = spdlog::level::info;

  std::mutex pool_mutex_;  // pool_ and dropped_base_; never held while taking mutex_
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::uint64_t dropped_base_ = 0;

  std::thread flusher_;
  std::mutex flusher_mutex_;
  std::condition_variable flusher_cv_;
  bool flusher_stop_ = false;
};

State& state() {
  static State s;
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

SinkPtr open_file_sink(const fs::path& path, std::uint64_t max_bytes, unsigned backups, bool json) {
  SinkPtr sink;
  try {
    if (max_bytes == 0) {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string());
    } else {
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          path.string(), static_cast<std::size_t>(max_bytes), backups);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot open log file '{}': {}", path.string(), e.what()));
  }
  sink->set_formatter(std::make_unique<LogFormatter>(json));
  return sink;
}

void State::init(const Settings& settings) {
  const auto level = parse_level(settings.log_level);
  if (!level) {
    throw std::runtime_error(fmt::format(
        "LOG_LEVEL: invalid value '{}' (expected debug, info, warning, error or critical)",
        settings.log_level));
  }
  const std::string format = lower(settings.log_format);
  if (format != "json" && format != "text") {
    throw std::runtime_error(
        fmt::format("LOG_FORMAT: invalid value '{}' (expected json or text)", settings.log_format));
  }
  const bool json = format == "json";

  const fs::path dir(settings.log_directory.empty() ? "." : settings.log_directory);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    throw std::runtime_error(fmt::format("cannot create log directory '{}': {}", dir.string(),
                                         ec ? ec.message() : "not a directory"));
  }

  const auto file = [&](const std::string& name) {
    return open_file_sink(dir / name, settings.log_max_bytes, settings.log_backup_count, json);
  };
  const SinkPtr app_file = file(settings.log_application_file);
  const SinkPtr error_file = file(settings.log_error_file);
  const SinkPtr access_file = file(settings.log_access_file);
  const SinkPtr request_file = file(settings.log_request_file);
  const SinkPtr audit_file = file(settings.log_audit_file);
  SinkPtr console;
  if (settings.log_to_stdout) {
    console = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    console->set_formatter(std::make_unique<LogFormatter>(json));
  }

  // The dropped-line counter lives in the metrics registry; registered outside mutex_ so a
  // scrape (registry lock, then pool_mutex_) cannot wait on a thread holding mutex_.
  metrics::Registry::global().counter_callback(
      "gatewayd_log_dropped_total", "Log lines dropped because the asynchronous queue was full.",
      {}, [] { return static_cast<double>(dropped_messages()); });

  std::lock_guard lock(mutex_);
  std::shared_ptr<spdlog::details::thread_pool> pool;
  {
    std::lock_guard pool_lock(pool_mutex_);
    if (!pool_) {
      pool_ = std::make_shared<spdlog::details::thread_pool>(
          kQueueSize, 1, [] { ::pthread_setname_np(::pthread_self(), "gw-log"); });
    }
    pool = pool_;
  }

  const auto make = [&](const char* name, std::vector<SinkPtr> sinks, spdlog::level::level_enum lvl,
                        spdlog::level::level_enum flush_level) {
    if (console) sinks.push_back(console);
    auto l = std::make_shared<spdlog::async_logger>(name, sinks.begin(), sinks.end(), pool,
                                                    spdlog::async_overflow_policy::overrun_oldest);
    l->set_level(lvl);
    l->flush_on(flush_level);
    return l;
  };
  auto set = std::make_unique<LoggerSet>();
  set->json = json;
  set->access_enabled = settings.access_log_enabled;
  set->app = make("application",
                  {app_file, std::make_shared<MinLevelSink>(error_file, spdlog::level::warn)},
                  *level, spdlog::level::warn);
  set->error =
      make("error", {error_file}, std::max(*level, spdlog::level::warn), spdlog::level::warn);
  set->access = make("access", {access_file}, spdlog::level::info, spdlog::level::warn);
  set->request = make("request", {request_file}, *level, spdlog::level::warn);
  set->audit = make("audit", {audit_file}, spdlog::level::info, spdlog::level::trace);
  level_ = *level;

  current_.store(set.get(), std::memory_order_release);
  sets_.push_back(std::move(set));
  start_flusher();
}

void State::start_flusher() {
  if (flusher_.joinable()) return;
  flusher_stop_ = false;
  flusher_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "gw-log-flush");
    std::unique_lock lock(flusher_mutex_);
    while (!flusher_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return flusher_stop_; })) {
      lock.unlock();
      flush_all();
      lock.lock();
    }
  });
}

void State::stop_flusher() {
  if (!flusher_.joinable()) return;
  {
    std::lock_guard lock(flusher_mutex_);
    flusher_stop_ = true;
  }
  flusher_cv_.notify_all();
  flusher_.join();
}

void State::flush_all() noexcept {
  LoggerSet* set = current_.load(std::memory_order_acquire);
  if (set == nullptr) return;
  try {
    set->for_each([](spdlog::logger& l) { l.flush(); });
  } catch (...) {
  }
}

void State::shutdown() {
  std::lock_guard lock(mutex_);
  stop_flusher();
  current_.store(nullptr, std::memory_order_release);
  for (const auto& set : sets_) {
    set->for_each([](spdlog::logger& l) { l.flush(); });
  }
  {
    // The pool's destructor drains the queue (flushes included) and joins its thread.
    std::lock_guard pool_lock(pool_mutex_);
    if (pool_) {
      dropped_base_ += pool_->overrun_counter();
      pool_.reset();
    }
  }
  sets_.clear();  // closes the files
}

// Builds a structured payload in a per-thread buffer that keeps its capacity between calls.
std::string& scratch() {
  thread_local std::string buffer;
  buffer.clear();
  buffer += kStructuredMarker;
  return buffer;
}

using Out = std::back_insert_iterator<std::string>;

void append_json_member(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":\"";
  append_json_text(out, value);
  out += '"';
}

void append_text_member(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  append_text_value(out, value);
}

double finite(double v) {
  return std::isfinite(v) ? v : 0.0;
}

// The target with credential-bearing query values replaced; a view of the input when there is
// no query string (the common case).
std::string_view redacted_target(std::string_view target) {
  if (target.find('?') == std::string_view::npos) return target;
  thread_local std::string buffer;
  buffer.clear();
  append_redacted_target(buffer, target);
  return buffer;
}

void emit(spdlog::logger& logger, spdlog::level::level_enum level, const std::string& payload) {
  logger.log(level, spdlog::string_view_t(payload.data(), payload.size()));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void init(const Settings& settings) {
  state().init(settings);
}
void shutdown() {
  state().shutdown();
}
void flush() {
  state().flush_all();
}

spdlog::logger& app() {
  return *state().current().app;
}
spdlog::logger& error() {
  return *state().current().error;
}
spdlog::logger& access() {
  return *state().current().access;
}
spdlog::logger& request() {
  return *state().current().request;
}
spdlog::logger& audit() {
  return *state().current().audit;
}

bool access_enabled() noexcept {
  return state().current().access_enabled;
}
bool json_format() noexcept {
  return state().current().json;
}
std::uint64_t dropped_messages() noexcept {
  return state().dropped();
}
void set_level(spdlog::level::level_enum level) noexcept {
  state().set_level(level);
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept {
  std::string n;
  for (const char c : name) {
    if (c != ' ' && c != '\t') n += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  using L = spdlog::level::level_enum;
  if (n == "trace") return L::trace;
  if (n == "debug") return L::debug;
  if (n == "info") return L::info;
  if (n == "warning" || n == "warn") return L::warn;
  if (n == "error" || n == "err") return L::err;
  if (n == "critical" || n == "fatal") return L::critical;
  if (n == "off") return L::off;
  return std::nullopt;
}

void log_event(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view msg,
               std::initializer_list<Field> fields) {
  if (!logger.should_log(level)) return;
  const bool json = json_format();
  std::string& out = scratch();
  if (json) {
    out += R"("msg":")";
    append_json_text(out, msg);
    out += '"';
  } else {
    append_plain_text(out, msg);
  }
  for (const auto& f : fields) {
    if (json) {
      out += ",\"";
      append_json_text(out, f.key());
      out += "\":";
    } else {
      out += ' ';
      append_plain_text(out, f.key());
      out += '=';
    }
    switch (f.kind()) {
      case Field::Kind::kString:
        if (json) {
          out += '"';
          append_json_text(out, f.str());
          out += '"';
        } else {
          append_text_value(out, f.str());
        }
        break;
      case Field::Kind::kInt:
        fmt::format_to(Out(out), "{}", f.int_value());
        break;
      case Field::Kind::kUint:
        fmt::format_to(Out(out), "{}", f.uint_value());
        break;
      case Field::Kind::kDouble:
        fmt::format_to(Out(out), "{}", finite(f.double_value()));
        break;
      case Field::Kind::kBool:
        out += f.bool_value() ? "true" : "false";
        break;
    }
  }
  emit(logger, level, out);
}

void log_access(const AccessEntry& e) {
  LoggerSet& set = state().current();
  if (!set.access_enabled) return;
  std::string& out = scratch();
  if (set.json) {
    out += R"("msg":"access")";
    append_json_member(out, "request_id", e.request_id);
    append_json_member(out, "trace_id", e.trace_id);
    append_json_member(out, "client_ip", e.client_ip);
    append_json_member(out, "method", e.method);
    append_json_member(out, "target", redacted_target(e.target));
    append_json_member(out, "route", e.route);
    append_json_member(out, "service", e.service);
    append_json_member(out, "upstream", e.upstream);
    fmt::format_to(Out(out),
                   R"(,"status":{},"duration_ms":{:.3f},"upstream_ms":{:.3f},"bytes_in":{},)"
                   R"("bytes_out":{})",
                   e.status, finite(e.duration_ms), finite(e.upstream_ms), e.bytes_in, e.bytes_out);
    append_json_member(out, "error_code", e.error_code);
    append_json_member(out, "user_id", e.user_id);
    append_json_member(out, "user_agent", e.user_agent);
  } else {
    // 10.0.0.1 "GET /path" 200 12.345ms rid=.. trace=.. route=.. ...
    append_text_value(out, e.client_ip);
    out += " \"";
    append_json_text(out, e.method);
    out += ' ';
    append_json_text(out, redacted_target(e.target));
    fmt::format_to(Out(out), "\" {} {:.3f}ms", e.status, finite(e.duration_ms));
    append_text_member(out, "rid", e.request_id);
    append_text_member(out, "trace", e.trace_id);
    append_text_member(out, "route", e.route);
    append_text_member(out, "service", e.service);
    append_text_member(out, "upstream", e.upstream);
    fmt::format_to(Out(out), " upstream_ms={:.3f} in={} out={}", finite(e.upstream_ms), e.bytes_in,
                   e.bytes_out);
    append_text_member(out, "err", e.error_code);
    append_text_member(out, "user", e.user_id);
    append_text_member(out, "ua", e.user_agent);
  }
  emit(*set.access, spdlog::level::info, out);
}

void log_audit(std::string_view event_type, std::string_view details_json) {
  LoggerSet& set = state().current();
  std::string& out = scratch();
  if (details_json.empty()) details_json = "{}";
  if (set.json) {
    out += R"("msg":"audit")";
    append_json_member(out, "event", event_type);
    out += R"(,"details":)";
    out += details_json;
  } else {
    out += "event=";
    append_text_value(out, event_type);
    out += " details=";
    append_plain_text(out, details_json);
  }
  emit(*set.audit, spdlog::level::info, out);
}

}  // namespace gatewayd::logging
