#include "upstream/weighted_balancer.hpp"

namespace gatewayd::upstream {

WeightedBalancer::WeightedBalancer(std::size_t endpoint_count)
    : current_(endpoint_count, 0), tiers_(endpoint_count, Candidates::kUnavailable) {}

Endpoint* WeightedBalancer::pick(const Candidates& candidates) noexcept {
  const std::size_t n = std::min(candidates.size(), current_.size());
  std::lock_guard lock(mutex_);
  auto best_tier = Candidates::kUnavailable;
  for (std::size_t i = 0; i < n; ++i) {
    tiers_[i] = candidates.tier(i);
    if (tiers_[i] > best_tier) best_tier = tiers_[i];
  }
  if (best_tier == Candidates::kUnavailable) return nullptr;

  // Only the endpoints taking part in this pick accumulate, as NGINX skips down peers; an
  // endpoint that was down does not come back with a burst of saved-up credit.
  std::int64_t total = 0;
  std::size_t chosen = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (tiers_[i] != best_tier) continue;
    const std::int64_t w = candidates.at(i).weight();
    current_[i] += w;
    total += w;
    if (chosen == n || current_[i] > current_[chosen]) chosen = i;
  }
  current_[chosen] -= total;
  return &candidates.at(chosen);
}

}  // namespace gatewayd::upstream
