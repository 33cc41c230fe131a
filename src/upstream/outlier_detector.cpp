#include "upstream/outlier_detector.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

#include "gatewayd/logging.hpp"
#include "upstream/upstream_metrics.hpp"

namespace gatewayd::upstream {

std::size_t OutlierDetector::max_ejected(std::size_t count, double percent) noexcept {
  if (count == 0 || percent <= 0.0) return 0;
  const auto share = static_cast<std::size_t>(
      std::floor(static_cast<double>(count) * std::min(percent, 100.0) / 100.0));
  return std::max<std::size_t>(1, share);
}

std::chrono::milliseconds OutlierDetector::ejection_time(std::uint32_t times) const noexcept {
  const auto base = std::max<std::int64_t>(0, policy_.base_ejection_time.count());
  const auto cap = std::max<std::int64_t>(base, policy_.max_ejection_time.count());
  const std::int64_t n = std::max<std::uint32_t>(1, times);
  // base * n, saturating at the cap without overflowing.
  if (base != 0 && n > cap / base) return std::chrono::milliseconds(cap);
  return std::chrono::milliseconds(std::min(cap, base * n));
}

void OutlierDetector::clear(Endpoint& endpoint) noexcept {
  endpoint.ejected_until_ns_.store(0, std::memory_order_relaxed);
  endpoint.consecutive_5xx_.store(0, std::memory_order_relaxed);
  endpoint.consecutive_gateway_failures_.store(0, std::memory_order_relaxed);
  endpoint.times_ejected_.store(0, std::memory_order_relaxed);
}

bool OutlierDetector::observe(Endpoint& endpoint, const AttemptOutcome& outcome,
                              std::span<const std::shared_ptr<Endpoint>> peers, std::mutex& mutex,
                              Clock::time_point now) const noexcept {
  if (!policy_.enabled) return false;
  auto reset = [](std::atomic<std::uint32_t>& counter) {
    if (counter.load(std::memory_order_relaxed) != 0) counter.store(0, std::memory_order_relaxed);
  };
  bool trip = false;
  if (outcome.error == AttemptError::kNone) {
    reset(endpoint.consecutive_gateway_failures_);
    if (outcome.status >= 500 && outcome.status <= 599) {
      const auto n = endpoint.consecutive_5xx_.fetch_add(1, std::memory_order_relaxed) + 1;
      trip = policy_.consecutive_5xx > 0 && n >= policy_.consecutive_5xx;
    } else {
      reset(endpoint.consecutive_5xx_);
    }
  } else {
    const auto n =
        endpoint.consecutive_gateway_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
    trip = policy_.consecutive_gateway_failures > 0 && n >= policy_.consecutive_gateway_failures;
  }
  return trip && try_eject(endpoint, peers, mutex, now);
}

bool OutlierDetector::try_eject(Endpoint& endpoint,
                                std::span<const std::shared_ptr<Endpoint>> peers, std::mutex& mutex,
                                Clock::time_point now) const noexcept {
  std::chrono::milliseconds duration{0};
  std::uint32_t times = 0;
  {
    std::lock_guard lock(mutex);
    endpoint.consecutive_5xx_.store(0, std::memory_order_relaxed);
    endpoint.consecutive_gateway_failures_.store(0, std::memory_order_relaxed);
    if (endpoint.ejected(now)) return false;  // another thread got here first
    std::size_t ejected = 0;
    for (const auto& peer : peers) {
      if (peer && peer.get() != &endpoint && peer->ejected(now)) ++ejected;
    }
    if (ejected >= max_ejected(peers.size(), policy_.max_ejection_percent)) return false;

    // The multiplier decays: an endpoint that has behaved for max_ejection_time since its
    // last ejection ended starts again at the base time.
    const auto last_end = endpoint.ejected_until_ns_.load(std::memory_order_relaxed);
    const auto quiet_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(policy_.max_ejection_time).count();
    times = endpoint.times_ejected_.load(std::memory_order_relaxed);
    if (last_end != 0 && to_ns(now) - last_end >= quiet_ns) times = 0;
    ++times;
    endpoint.times_ejected_.store(times, std::memory_order_relaxed);
    duration = ejection_time(times);
    endpoint.ejected_until_ns_.store(
        to_ns(now) + std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count(),
        std::memory_order_relaxed);
  }
  try {
    metric::outlier_ejections(endpoint.service(), endpoint.id()).inc();
    logging::app().warn("outlier ejection: {}/{} ejected for {} ms (ejection #{})",
                        endpoint.service(), endpoint.id(), duration.count(), times);
  } catch (const std::exception&) {
    // Reporting is best effort; the ejection itself has happened.
  }
  return true;
}

}  // namespace gatewayd::upstream
