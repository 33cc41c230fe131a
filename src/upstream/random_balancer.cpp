#include "upstream/random_balancer.hpp"

#include "upstream/fast_rng.hpp"

namespace gatewayd::upstream {

Endpoint* RandomBalancer::pick(const Candidates& candidates) noexcept {
  const std::size_t n = candidates.size();
  auto best_tier = Candidates::kUnavailable;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto tier = candidates.tier(i);
    if (tier < best_tier || tier == Candidates::kUnavailable) continue;
    if (tier > best_tier) {
      best_tier = tier;
      total = 0;
    }
    total += candidates.at(i).weight();
  }
  if (best_tier == Candidates::kUnavailable) return nullptr;
  std::uint64_t r = thread_rng().below(total);
  Endpoint* last = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    // Availability may change between the passes (another thread opened a breaker); then the
    // last matching endpoint takes the remainder.
    if (candidates.tier(i) != best_tier) continue;
    last = &candidates.at(i);
    const std::uint32_t w = last->weight();
    if (r < w) return last;
    r -= w;
  }
  return last;
}

}  // namespace gatewayd::upstream
