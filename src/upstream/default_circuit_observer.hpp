#pragma once
// The observer the daemon installs: every transition is logged to application.log, counted
// (gatewayd_circuit_transitions_total), reflected in the gatewayd_circuit_state gauge, written
// to audit.log and handed to the persistence producer as an audit_logs row and a
// circuit_breaker_states upsert.
//
// circuit_breaker_states is keyed by service_name: the service-level breaker uses the service
// name, an endpoint breaker "<service>/<host:port>".
#include <functional>

#include "gatewayd/records.hpp"
#include "upstream/circuit_observer.hpp"

namespace gatewayd::upstream {

class DefaultCircuitObserver final : public CircuitObserver {
 public:
  using Callback = std::function<void(const CircuitTransition&)>;

  // `sink` must outlive every breaker using this observer. `extra` (optional) is called after
  // the built-in actions, under the same rules as on_transition.
  explicit DefaultCircuitObserver(RecordSink& sink, Callback extra = {});

  void on_created(std::string_view service, std::string_view endpoint) noexcept override;
  void on_transition(const CircuitTransition& t) noexcept override;

  // "<service>" or "<service>/<endpoint>".
  static std::string record_name(std::string_view service, std::string_view endpoint);
  // The audit_logs details object of a transition.
  static std::string details_json(const CircuitTransition& t);

 private:
  RecordSink& sink_;
  Callback extra_;
};

}  // namespace gatewayd::upstream
