#pragma once
// A source of endpoint sets (static config, Consul, Nacos, etcd). A provider follows the
// services it is asked to watch and publishes their sets to a DiscoveryRegistry, reporting
// backend failures there too. Network providers run their loops on the control executor.
#include <string>

#include "gatewayd/config.hpp"

namespace gatewayd::discovery {

class DiscoveryProvider {
 public:
  virtual ~DiscoveryProvider() = default;

  // "static", "consul", "nacos", "etcd": the provider label of metrics and sets.
  virtual const std::string& name() const noexcept = 0;
  // Starts following the service (or takes its new config; idempotent). Thread-safe.
  virtual void watch(const ServiceConfig& service) = 0;
  // Stops following it; its published set stays until the caller forgets it. Thread-safe.
  virtual void unwatch(const std::string& service) = 0;
  // Cancels every watch and waits (bounded) until they ended. Call it from a thread other than
  // the control executor's.
  virtual void stop() = 0;
};

}  // namespace gatewayd::discovery
