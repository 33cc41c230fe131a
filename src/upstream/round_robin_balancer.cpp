#include "upstream/round_robin_balancer.hpp"

namespace gatewayd::upstream {

Endpoint* RoundRobinBalancer::pick(const Candidates& candidates) noexcept {
  const std::size_t n = candidates.size();
  if (n == 0) return nullptr;
  const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed) % n;
  Endpoint* fallback = nullptr;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start + k) % n;
    const auto tier = candidates.tier(i);
    if (tier == Candidates::kFresh) return &candidates.at(i);
    if (tier == Candidates::kTried && fallback == nullptr) fallback = &candidates.at(i);
  }
  return fallback;
}

}  // namespace gatewayd::upstream
