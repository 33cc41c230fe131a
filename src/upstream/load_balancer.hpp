#pragma once
// Load balancing strategies, one instance per service per config snapshot (the endpoint list
// is fixed for its life). A pick considers only available endpoints (enabled, healthy, not
// ejected, breaker admitting), prefers those the request has not tried yet, and falls back to
// tried ones only when nothing else is left. nullptr means nothing is available: the caller
// answers 503 UPSTREAM_UNAVAILABLE.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "gatewayd/config.hpp"
#include "upstream/clock.hpp"
#include "upstream/endpoint.hpp"
#include "upstream/exclude_set.hpp"

namespace gatewayd::upstream {

using EndpointList = std::vector<std::shared_ptr<Endpoint>>;

// The view of the endpoints for one pick.
class Candidates {
 public:
  enum Tier : std::uint8_t { kUnavailable = 0, kTried = 1, kFresh = 2 };

  Candidates(const EndpointList& endpoints, Clock::time_point now, const ExcludeSet& tried,
             const ExcludeSet& refused) noexcept
      : endpoints_(endpoints), now_(now), tried_(tried), refused_(refused) {}

  std::size_t size() const noexcept { return endpoints_.size(); }
  Endpoint& at(std::size_t i) const noexcept { return *endpoints_[i]; }

  // kFresh: available and not tried; kTried: available but tried by this request;
  // kUnavailable: down, or its breaker refused a permit during this pick.
  Tier tier(std::size_t i) const noexcept {
    const Endpoint* e = endpoints_[i].get();
    if (refused_.contains(e) || !e->available(now_)) return kUnavailable;
    return tried_.contains(e) ? kTried : kFresh;
  }

 private:
  const EndpointList& endpoints_;
  Clock::time_point now_;
  const ExcludeSet& tried_;
  const ExcludeSet& refused_;
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  virtual Endpoint* pick(const Candidates& candidates) noexcept = 0;
};

// `endpoints` is the list the balancer will be given in every Candidates.
std::unique_ptr<LoadBalancer> make_load_balancer(LbStrategy strategy,
                                                 const EndpointList& endpoints);

std::string_view lb_strategy_name(LbStrategy strategy) noexcept;

}  // namespace gatewayd::upstream
