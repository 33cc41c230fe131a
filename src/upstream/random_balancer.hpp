#pragma once
#include "upstream/load_balancer.hpp"

namespace gatewayd::upstream {

// Random choice proportional to weight (uniform when weights are equal), from the calling
// thread's own PRNG, so workers never share state.
class RandomBalancer final : public LoadBalancer {
 public:
  Endpoint* pick(const Candidates& candidates) noexcept override;
};

}  // namespace gatewayd::upstream
