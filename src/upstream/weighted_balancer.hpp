#pragma once
// Smooth weighted round robin (the NGINX algorithm): every pick adds each candidate's weight to
// its current weight, takes the largest, and subtracts the candidates' total from the winner.
// Weights 5:1:1 give a,a,b,a,c,a,a.
//
// One small mutex per service: the state is a few integers per endpoint and the critical
// section is one pass over them, so holding it is far cheaper than a connection. Per-worker
// state would avoid the lock but each worker would run its own sequence, so a service would
// see up to N workers' bursts to the heaviest endpoint at once, which defeats the "smooth".
#include <mutex>
#include <vector>

#include "upstream/load_balancer.hpp"

namespace gatewayd::upstream {

class WeightedBalancer final : public LoadBalancer {
 public:
  explicit WeightedBalancer(std::size_t endpoint_count);
  Endpoint* pick(const Candidates& candidates) noexcept override;

 private:
  std::mutex mutex_;
  std::vector<std::int64_t> current_;    // guarded by mutex_
  std::vector<Candidates::Tier> tiers_;  // scratch, guarded by mutex_
};

}  // namespace gatewayd::upstream
