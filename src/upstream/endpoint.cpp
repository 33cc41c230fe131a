#include "upstream/endpoint.hpp"

namespace gatewayd::upstream {

Endpoint::Endpoint(std::string service, const InstanceConfig& instance,
                   const CircuitBreakerPolicy& policy, const Clock& clock,
                   std::shared_ptr<CircuitObserver> observer)
    : service_(std::move(service)),
      id_(instance.id.empty() ? instance.host + ":" + std::to_string(instance.port) : instance.id),
      scheme_(instance.scheme.empty() ? "http" : instance.scheme),
      host_(instance.host),
      port_(instance.port),
      url_(instance.url),
      breaker_(service_, id_, policy, clock, std::move(observer)) {
  set_weight(instance.weight);
  set_enabled(instance.healthy);
}

}  // namespace gatewayd::upstream
