#pragma once
// Passive outlier ejection, fed with every attempt's outcome. consecutive_5xx 5xx answers, or
// consecutive_gateway_failures connect errors / timeouts / broken responses in a row, eject the
// endpoint for base_ejection_time * (times ejected), capped at max_ejection_time. The count of
// times ejected starts over once an endpoint has stayed in for max_ejection_time.
//
// Cap: at most floor(max_ejection_percent% of the service's endpoints) are ejected at once,
// but - as Envoy does - at least one may always be, so small services still shed a bad
// endpoint (max_ejection_percent 0 turns ejection off). An ejection the cap refuses resets
// the endpoint's streak; it is tried again after another full streak.
// Un-ejection is passive: the endpoint is eligible again once its time has passed.
#include <mutex>
#include <span>

#include "gatewayd/config.hpp"
#include "upstream/attempt_outcome.hpp"
#include "upstream/clock.hpp"
#include "upstream/endpoint.hpp"

namespace gatewayd::upstream {

class OutlierDetector {
 public:
  explicit OutlierDetector(const OutlierPolicy& policy) : policy_(policy) {}

  // Returns true when this outcome ejected `endpoint`. `peers` is the service's endpoint list
  // (with `endpoint` in it) and `mutex` the service's ejection lock, so that concurrent
  // ejections cannot together break the cap.
  bool observe(Endpoint& endpoint, const AttemptOutcome& outcome,
               std::span<const std::shared_ptr<Endpoint>> peers, std::mutex& mutex,
               Clock::time_point now) const noexcept;

  // The most endpoints of `count` that may be ejected at once.
  static std::size_t max_ejected(std::size_t count, double percent) noexcept;
  // How long the n-th ejection (n >= 1) lasts.
  std::chrono::milliseconds ejection_time(std::uint32_t times) const noexcept;

  // Clears the ejection and the streaks (admin reset).
  static void clear(Endpoint& endpoint) noexcept;

  const OutlierPolicy& policy() const noexcept { return policy_; }

 private:
  bool try_eject(Endpoint& endpoint, std::span<const std::shared_ptr<Endpoint>> peers,
                 std::mutex& mutex, Clock::time_point now) const noexcept;

  OutlierPolicy policy_;
};

}  // namespace gatewayd::upstream
