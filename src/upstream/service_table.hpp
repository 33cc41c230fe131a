#pragma once
// Every service of one config snapshot, by name. Built off the event loop at each config
// publish (or discovery update) over the shared EndpointRegistry, then read-only: workers look
// services up without locks.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gatewayd/config.hpp"
#include "upstream/endpoint_registry.hpp"
#include "upstream/service_endpoints.hpp"

namespace gatewayd::upstream {

class ServiceTable {
 public:
  using ServiceMap = std::map<std::string, ServiceConfig, std::less<>>;

  static std::shared_ptr<const ServiceTable> build(EndpointRegistry& registry,
                                                   const ServiceMap& services);

  // nullptr when the snapshot has no such service.
  const ServiceEndpoints* find(std::string_view name) const noexcept;
  std::shared_ptr<const ServiceEndpoints> get(std::string_view name) const noexcept;
  // For HealthChecker::update.
  std::vector<std::shared_ptr<const ServiceEndpoints>> all() const;
  std::size_t size() const noexcept { return services_.size(); }

 private:
  std::map<std::string, std::shared_ptr<const ServiceEndpoints>, std::less<>> services_;
};

}  // namespace gatewayd::upstream
