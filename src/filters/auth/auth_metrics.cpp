#include "filters/auth/auth_metrics.hpp"

namespace gatewayd::auth {

void register_jwks_metrics(metrics::Registry& registry, const std::shared_ptr<JwksCache>& cache,
                           const std::string& source) {
  const metrics::Labels labels{{"source", source}};
  std::weak_ptr<JwksCache> weak = cache;
  registry.gauge_callback("gatewayd_jwks_key_set_age_seconds",
                          "Seconds since the JWKS key set was last fetched successfully.", labels,
                          [weak] {
                            auto c = weak.lock();
                            return c ? c->age_seconds().value_or(-1.0) : -1.0;
                          });
  registry.gauge_callback("gatewayd_jwks_keys", "Verification keys in the key set served now.",
                          labels, [weak] {
                            auto c = weak.lock();
                            return c ? static_cast<double>(c->keys()->size()) : 0.0;
                          });
  auto stat = [weak](std::uint64_t JwksCache::Stats::*field) {
    return [weak, field] {
      auto c = weak.lock();
      return c ? static_cast<double>(c->stats().*field) : 0.0;
    };
  };
  registry.counter_callback("gatewayd_jwks_fetches_total", "JWKS fetch attempts.", labels,
                            stat(&JwksCache::Stats::fetches));
  registry.counter_callback("gatewayd_jwks_fetch_failures_total",
                            "JWKS fetches that failed or returned no usable key set.", labels,
                            stat(&JwksCache::Stats::failures));
  registry.counter_callback("gatewayd_jwks_unknown_kid_refetches_total",
                            "JWKS fetches triggered by a token with an unknown kid.", labels,
                            stat(&JwksCache::Stats::unknown_kid_fetches));
  registry.counter_callback("gatewayd_jwks_refetch_rate_limited_total",
                            "Unknown-kid refetch requests answered without a fetch.", labels,
                            stat(&JwksCache::Stats::rate_limited));
}

}  // namespace gatewayd::auth
