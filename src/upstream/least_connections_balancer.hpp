#pragma once
#include <atomic>

#include "upstream/load_balancer.hpp"

namespace gatewayd::upstream {

// Fewest in-flight requests wins; the scan starts at a rotating index so ties are broken
// round-robin instead of always favouring the first endpoint.
class LeastConnectionsBalancer final : public LoadBalancer {
 public:
  Endpoint* pick(const Candidates& candidates) noexcept override;

 private:
  std::atomic<std::uint64_t> next_{0};
};

}  // namespace gatewayd::upstream
