#include "upstream/load_balancer.hpp"

#include "upstream/least_connections_balancer.hpp"
#include "upstream/random_balancer.hpp"
#include "upstream/round_robin_balancer.hpp"
#include "upstream/weighted_balancer.hpp"

namespace gatewayd::upstream {

std::unique_ptr<LoadBalancer> make_load_balancer(LbStrategy strategy,
                                                 const EndpointList& endpoints) {
  switch (strategy) {
    case LbStrategy::kRoundRobin:
      return std::make_unique<RoundRobinBalancer>();
    case LbStrategy::kWeighted:
      return std::make_unique<WeightedBalancer>(endpoints.size());
    case LbStrategy::kLeastConnections:
      return std::make_unique<LeastConnectionsBalancer>();
    case LbStrategy::kRandom:
      return std::make_unique<RandomBalancer>();
  }
  return std::make_unique<RoundRobinBalancer>();
}

std::string_view lb_strategy_name(LbStrategy strategy) noexcept {
  switch (strategy) {
    case LbStrategy::kRoundRobin:
      return "round_robin";
    case LbStrategy::kWeighted:
      return "weighted";
    case LbStrategy::kLeastConnections:
      return "least_connections";
    case LbStrategy::kRandom:
      return "random";
  }
  return "unknown";
}

}  // namespace gatewayd::upstream
