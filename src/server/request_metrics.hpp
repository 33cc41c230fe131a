#pragma once
// Per-worker handles to the request metrics. The registry lookup (a mutex) happens once per
// label combination; afterwards recording is a hash lookup in a worker-local map plus relaxed
// atomic adds, with no allocation.
#include <string>
#include <string_view>
#include <unordered_map>

#include "gatewayd/metrics.hpp"

namespace gatewayd {

class RequestMetrics {
 public:
  RequestMetrics();

  // `route` is the route name (bounded); unmatched requests use "-".
  void record_request(std::string_view route, std::string_view method, unsigned status,
                      double seconds);
  void record_upstream(std::string_view service, double seconds);

  metrics::Gauge& active_connections;
  metrics::Counter& connections_total;
  metrics::Gauge& in_flight;

  // Methods outside the standard set become "OTHER" so the label stays bounded.
  static std::string_view method_label(std::string_view method) noexcept;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using Map = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  struct Handles {
    metrics::Counter* requests;
  };
  Map<Handles> requests_;
  Map<metrics::Histogram*> durations_;
  Map<metrics::Histogram*> upstream_;
  std::string key_;  // reused lookup key
};

}  // namespace gatewayd
