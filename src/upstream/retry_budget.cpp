#include "upstream/retry_budget.hpp"

#include <algorithm>

namespace gatewayd::upstream {

RetryBudget::RetryBudget(const RetryBudgetPolicy& policy, const Clock& clock)
    : clock_(clock), window_(policy.window) {
  update_policy(policy);
}

void RetryBudget::update_policy(const RetryBudgetPolicy& policy) noexcept {
  if (policy.window != window_.window()) window_.set_window(policy.window);
  const double seconds = std::chrono::duration<double>(window_.window()).count();
  budget_ratio_.store(std::max(0.0, policy.budget_percent) / 100.0, std::memory_order_relaxed);
  floor_per_window_.store(std::max(0.0, policy.min_retries_per_second) * seconds,
                          std::memory_order_relaxed);
}

void RetryBudget::record_request() noexcept {
  window_.add(clock_.now(), 1, 0);
}

double RetryBudget::allowance(std::uint64_t requests) const noexcept {
  return std::max(budget_ratio_.load(std::memory_order_relaxed) * static_cast<double>(requests),
                  floor_per_window_.load(std::memory_order_relaxed));
}

bool RetryBudget::try_acquire() noexcept {
  const auto now = clock_.now();
  const auto c = window_.sum(now);
  if (static_cast<double>(c.marked) + 1.0 > allowance(c.total)) {
    exhausted_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  window_.add(now, 0, 1);
  return true;
}

RetryBudget::Counts RetryBudget::counts() const noexcept {
  const auto c = window_.sum(clock_.now());
  return {c.total, c.marked};
}

}  // namespace gatewayd::upstream
