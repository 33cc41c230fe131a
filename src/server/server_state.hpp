#pragma once
// State shared by every worker of one gatewayd process. Written at start-up or through atomics.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gatewayd/settings.hpp"
#include "observability/trace_context.hpp"

namespace gatewayd {

class RecordSink;
class CorsPolicyHolder;
namespace tracing {
class SpanExporter;
}

// A component that /ready reports on (database, Redis, discovery, ...).
struct ReadinessCheck {
  enum class State { kReady, kDegraded, kNotReady };
  std::string name;
  std::function<std::pair<State, std::string>()> probe;  // thread-safe, non-blocking
};

struct ServerState {
  explicit ServerState(const Settings& s) : settings(s) {}

  const Settings& settings;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<bool> config_loaded{false};
  std::atomic<unsigned> workers_running{0};
  unsigned workers_expected = 0;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> connections{0};
  RecordSink* records = nullptr;  // never null once the app runs
  // Set when TRACING_ENABLED: sampled requests' server spans go to the OTLP exporter.
  tracing::SpanExporter* spans = nullptr;
  tracing::Sampler sampler{1.0};
  // The CORS policy (admin-updatable); null when none was built.
  std::shared_ptr<const CorsPolicyHolder> cors;

  // Registered before the workers start; read-only afterwards.
  std::vector<ReadinessCheck> readiness;
};

}  // namespace gatewayd
