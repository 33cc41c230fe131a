#pragma once
// Durable records and the producer interface every module uses to emit them. Producers never
// block and never lose a record: a full queue spills to the spool file (see persistence/).
#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

namespace gatewayd {

using SystemTime = std::chrono::system_clock::time_point;

// One row of gateway_logs per request.
struct RequestRecord {
  std::string request_id, method, path, route, target_service, user_id, client_ip, error_code,
      trace_id;
  unsigned status_code = 0;
  double response_time_ms = 0;
  SystemTime created_at{};
};

// audit_logs: admin changes, auth events, circuit transitions.
struct AuditRecord {
  std::string event_type, user_id, ip_address, user_agent, request_id;
  std::string details_json = "{}";
  SystemTime created_at{};
};

// rate_limit_records: aggregated per identifier, window type and route (upserted, counts add).
struct RateLimitRecord {
  std::string identifier, window_type, route_path;
  std::uint64_t request_count = 0;
  SystemTime window_start{}, window_end{};
};

// circuit_breaker_states: upsert by service_name.
struct CircuitStateRecord {
  std::string service_name, state;
  std::uint32_t failure_count = 0, success_count = 0;
  SystemTime last_failure_time{}, last_state_change{};
};

// service_instances: upsert by (service_name, instance_url).
struct ServiceInstanceRecord {
  std::string service_name, instance_url, instance_id, health_check_path, metadata_json = "{}";
  std::uint32_t weight = 1, health_check_interval = 0, failure_count = 0;
  bool is_healthy = true;
  SystemTime last_health_check{};
};

using Record = std::variant<RequestRecord, AuditRecord, RateLimitRecord, CircuitStateRecord,
                            ServiceInstanceRecord>;

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Thread-safe, non-blocking, never drops: callable from any worker.
  virtual void submit(Record record) noexcept = 0;
};

// Discards everything; for tests and for components built without persistence.
class NullRecordSink final : public RecordSink {
 public:
  void submit(Record) noexcept override {}
};

}  // namespace gatewayd
