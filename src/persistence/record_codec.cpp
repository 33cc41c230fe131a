#include "persistence/record_codec.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

namespace gatewayd::persistence {
namespace {

using nlohmann::json;

std::int64_t to_us(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

SystemTime from_us(std::int64_t us) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::microseconds(us)));
}

template <class T>
void get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return;
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) {
      out = it->template get_ref<const std::string&>();
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) {
      out = it->template get<bool>();
    }
  } else if constexpr (std::is_arithmetic_v<T>) {
    if (it->is_number()) {
      out = it->template get<T>();
    }
  }
}

void get_time(const json& j, const char* key, SystemTime& out) {
  std::int64_t us = 0;
  get(j, key, us);
  out = from_us(us);
}

struct Encoder {
  json operator()(const RequestRecord& r) const {
    return json{{"k", "request"},
                {"request_id", r.request_id},
                {"method", r.method},
                {"path", r.path},
                {"route", r.route},
                {"target_service", r.target_service},
                {"user_id", r.user_id},
                {"client_ip", r.client_ip},
                {"error_code", r.error_code},
                {"trace_id", r.trace_id},
                {"status_code", r.status_code},
                {"response_time_ms", r.response_time_ms},
                {"created_at", to_us(r.created_at)}};
  }
  json operator()(const AuditRecord& r) const {
    return json{{"k", "audit"},
                {"event_type", r.event_type},
                {"user_id", r.user_id},
                {"ip_address", r.ip_address},
                {"user_agent", r.user_agent},
                {"request_id", r.request_id},
                {"details_json", r.details_json},
                {"created_at", to_us(r.created_at)}};
  }
  json operator()(const RateLimitRecord& r) const {
    return json{{"k", "rate_limit"},
                {"identifier", r.identifier},
                {"window_type", r.window_type},
                {"route_path", r.route_path},
                {"request_count", r.request_count},
                {"window_start", to_us(r.window_start)},
                {"window_end", to_us(r.window_end)}};
  }
  json operator()(const CircuitStateRecord& r) const {
    return json{{"k", "circuit_state"},
                {"service_name", r.service_name},
                {"state", r.state},
                {"failure_count", r.failure_count},
                {"success_count", r.success_count},
                {"last_failure_time", to_us(r.last_failure_time)},
                {"last_state_change", to_us(r.last_state_change)}};
  }
  json operator()(const ServiceInstanceRecord& r) const {
    return json{{"k", "service_instance"},
                {"service_name", r.service_name},
                {"instance_url", r.instance_url},
                {"instance_id", r.instance_id},
                {"health_check_path", r.health_check_path},
                {"metadata_json", r.metadata_json},
                {"weight", r.weight},
                {"health_check_interval", r.health_check_interval},
                {"failure_count", r.failure_count},
                {"is_healthy", r.is_healthy},
                {"last_health_check", to_us(r.last_health_check)}};
  }
};

}  // namespace

std::string encode_record(const Record& record) {
  json j = std::visit(Encoder{}, record);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Record> decode_record(std::string_view payload) {
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return std::nullopt;
  }
  std::string kind;
  get(j, "k", kind);
  if (kind == "request") {
    RequestRecord r;
    get(j, "request_id", r.request_id);
    get(j, "method", r.method);
    get(j, "path", r.path);
    get(j, "route", r.route);
    get(j, "target_service", r.target_service);
    get(j, "user_id", r.user_id);
    get(j, "client_ip", r.client_ip);
    get(j, "error_code", r.error_code);
    get(j, "trace_id", r.trace_id);
    get(j, "status_code", r.status_code);
    get(j, "response_time_ms", r.response_time_ms);
    get_time(j, "created_at", r.created_at);
    return r;
  }
  if (kind == "audit") {
    AuditRecord r;
    get(j, "event_type", r.event_type);
    get(j, "user_id", r.user_id);
    get(j, "ip_address", r.ip_address);
    get(j, "user_agent", r.user_agent);
    get(j, "request_id", r.request_id);
    get(j, "details_json", r.details_json);
    get_time(j, "created_at", r.created_at);
    return r;
  }
  if (kind == "rate_limit") {
    RateLimitRecord r;
    get(j, "identifier", r.identifier);
    get(j, "window_type", r.window_type);
    get(j, "route_path", r.route_path);
    get(j, "request_count", r.request_count);
    get_time(j, "window_start", r.window_start);
    get_time(j, "window_end", r.window_end);
    return r;
  }
  if (kind == "circuit_state") {
    CircuitStateRecord r;
    get(j, "service_name", r.service_name);
    get(j, "state", r.state);
    get(j, "failure_count", r.failure_count);
    get(j, "success_count", r.success_count);
    get_time(j, "last_failure_time", r.last_failure_time);
    get_time(j, "last_state_change", r.last_state_change);
    return r;
  }
  if (kind == "service_instance") {
    ServiceInstanceRecord r;
    get(j, "service_name", r.service_name);
    get(j, "instance_url", r.instance_url);
    get(j, "instance_id", r.instance_id);
    get(j, "health_check_path", r.health_check_path);
    get(j, "metadata_json", r.metadata_json);
    get(j, "weight", r.weight);
    get(j, "health_check_interval", r.health_check_interval);
    get(j, "failure_count", r.failure_count);
    get(j, "is_healthy", r.is_healthy);
    get_time(j, "last_health_check", r.last_health_check);
    return r;
  }
  return std::nullopt;
}

std::string_view record_kind(const Record& record) noexcept {
  static constexpr std::string_view kNames[] = {"request", "audit", "rate_limit", "circuit_state",
                                                "service_instance"};
  return kNames[record.index()];
}

}  // namespace gatewayd::persistence
