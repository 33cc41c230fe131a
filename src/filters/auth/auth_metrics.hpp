#pragma once
// Prometheus series for the auth module's shared state, computed at scrape time.
#include <memory>
#include <string>

#include "filters/auth/jwks_cache.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::auth {

// Registers, labelled {source="<source>"}:
//   gatewayd_jwks_key_set_age_seconds    seconds since the last good fetch (-1 before the first)
//   gatewayd_jwks_keys                   keys in the set served now (static ones included)
//   gatewayd_jwks_fetches_total          fetch attempts
//   gatewayd_jwks_fetch_failures_total   attempts that kept the previous set
//   gatewayd_jwks_unknown_kid_refetches_total, gatewayd_jwks_refetch_rate_limited_total
// The callbacks hold the cache weakly: once it is gone they report 0 (age -1).
void register_jwks_metrics(metrics::Registry& registry, const std::shared_ptr<JwksCache>& cache,
                           const std::string& source);

}  // namespace gatewayd::auth
