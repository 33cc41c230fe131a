#include "upstream/least_connections_balancer.hpp"

namespace gatewayd::upstream {

Endpoint* LeastConnectionsBalancer::pick(const Candidates& candidates) noexcept {
  const std::size_t n = candidates.size();
  if (n == 0) return nullptr;
  const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed) % n;
  Endpoint* best = nullptr;
  auto best_tier = Candidates::kUnavailable;
  std::uint32_t best_active = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start + k) % n;
    const auto tier = candidates.tier(i);
    if (tier == Candidates::kUnavailable || tier < best_tier) continue;
    const std::uint32_t active = candidates.at(i).active_requests();
    if (tier > best_tier || active < best_active) {
      best = &candidates.at(i);
      best_tier = tier;
      best_active = active;
    }
  }
  return best;
}

}  // namespace gatewayd::upstream
