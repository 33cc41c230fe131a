#pragma once
#include <atomic>

#include "upstream/load_balancer.hpp"

namespace gatewayd::upstream {

// A shared atomic counter gives the starting index; the first fresh endpoint from there wins.
// An unavailable endpoint's turn goes to the next one.
class RoundRobinBalancer final : public LoadBalancer {
 public:
  Endpoint* pick(const Candidates& candidates) noexcept override;

 private:
  std::atomic<std::uint64_t> next_{0};
};

}  // namespace gatewayd::upstream
