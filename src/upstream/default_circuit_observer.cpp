#include "upstream/default_circuit_observer.hpp"

#include <exception>
#include <string>

#include "gatewayd/error.hpp"
#include "gatewayd/logging.hpp"
#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {

namespace {
void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += key;
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}
void append_number(std::string& out, std::string_view key, std::uint64_t value) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += key;
  out += "\":";
  out += std::to_string(value);
}
}  // namespace

DefaultCircuitObserver::DefaultCircuitObserver(RecordSink& sink, Callback extra)
    : sink_(sink), extra_(std::move(extra)) {}

std::string DefaultCircuitObserver::record_name(std::string_view service,
                                                std::string_view endpoint) {
  std::string name(service);
  if (!endpoint.empty()) {
    name += '/';
    name += endpoint;
  }
  return name;
}

std::string DefaultCircuitObserver::details_json(const CircuitTransition& t) {
  std::string out = "{";
  append_field(out, "service", t.service);
  append_field(out, "endpoint", t.endpoint);
  append_field(out, "from", circuit_state_name(t.from));
  append_field(out, "to", circuit_state_name(t.to));
  append_field(out, "reason", t.reason);
  append_number(out, "failure_count", t.failure_count);
  append_number(out, "success_count", t.success_count);
  if (t.to == CircuitState::kOpen) {
    append_number(out, "open_for_ms", static_cast<std::uint64_t>(t.open_for.count()));
  }
  out += '}';
  return out;
}

void DefaultCircuitObserver::on_created(std::string_view service,
                                        std::string_view endpoint) noexcept {
  try {
    metric::circuit_state(service, endpoint).set(0.0);
  } catch (const std::exception&) {
    // Metrics are best effort; a registry failure must not stop the data plane.
  }
}

void DefaultCircuitObserver::on_transition(const CircuitTransition& t) noexcept {
  try {
    const std::string name = record_name(t.service, t.endpoint);
    const auto from = circuit_state_name(t.from);
    const auto to = circuit_state_name(t.to);

    metric::circuit_state(t.service, t.endpoint).set(static_cast<double>(t.to));
    metric::circuit_transitions(t.service, t.endpoint, from, to).inc();

    if (t.to == CircuitState::kOpen) {
      logging::app().warn("circuit breaker {} {} -> {} ({}, {} failures), open for {} ms", name,
                          from, to, t.reason, t.failure_count, t.open_for.count());
    } else {
      logging::app().info("circuit breaker {} {} -> {} ({})", name, from, to, t.reason);
    }

    const std::string details = details_json(t);
    logging::log_audit("circuit_breaker_transition", details);

    // Wall-clock stamps for the database, derived from the breaker's clock so that the
    // distance between "last failure" and "now" is the one the breaker saw.
    const SystemTime wall_now = std::chrono::system_clock::now();
    SystemTime last_failure{};
    if (t.last_failure.time_since_epoch().count() != 0 && t.last_failure <= t.at) {
      last_failure =
          wall_now - std::chrono::duration_cast<SystemTime::duration>(t.at - t.last_failure);
    }

    CircuitStateRecord state;
    state.service_name = name;
    state.state = std::string(to);
    state.failure_count = t.failure_count;
    state.success_count = t.success_count;
    state.last_failure_time = last_failure;
    state.last_state_change = wall_now;
    sink_.submit(std::move(state));

    AuditRecord audit;
    audit.event_type = "circuit_breaker_transition";
    audit.details_json = details;
    audit.created_at = wall_now;
    sink_.submit(std::move(audit));

    if (extra_) extra_(t);
  } catch (const std::exception& e) {
    // Reporting must never take the breaker down with it.
    try {
      logging::error().error("circuit breaker observer failed: {}", e.what());
    } catch (...) {
    }
  }
}

}  // namespace gatewayd::upstream
