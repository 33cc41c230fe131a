#pragma once
// services.yaml as a discovery source: watching a service publishes its configured instances
// (again on every reload).
#include <string>

#include "discovery/discovery_provider.hpp"
#include "discovery/discovery_registry.hpp"

namespace gatewayd::discovery {

class StaticProvider final : public DiscoveryProvider {
 public:
  explicit StaticProvider(DiscoveryRegistry& registry) : registry_(registry) {}

  const std::string& name() const noexcept override { return name_; }
  void watch(const ServiceConfig& service) override;
  void unwatch(const std::string&) override {}
  void stop() override {}

 private:
  const std::string name_ = "static";
  DiscoveryRegistry& registry_;
};

}  // namespace gatewayd::discovery
