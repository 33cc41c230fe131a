#include "upstream/service_table.hpp"

namespace gatewayd::upstream {

std::shared_ptr<const ServiceTable> ServiceTable::build(EndpointRegistry& registry,
                                                        const ServiceMap& services) {
  auto table = std::make_shared<ServiceTable>();
  for (const auto& [name, config] : services) {
    if (config.name == name) {
      table->services_.emplace(name, ServiceEndpoints::build(registry, config));
    } else {
      // The map key is authoritative: state is registered under the name routes refer to.
      ServiceConfig named = config;
      named.name = name;
      table->services_.emplace(name, ServiceEndpoints::build(registry, named));
    }
  }
  return table;
}

const ServiceEndpoints* ServiceTable::find(std::string_view name) const noexcept {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const ServiceEndpoints> ServiceTable::get(std::string_view name) const noexcept {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const ServiceEndpoints>> ServiceTable::all() const {
  std::vector<std::shared_ptr<const ServiceEndpoints>> out;
  out.reserve(services_.size());
  for (const auto& [name, svc] : services_) out.push_back(svc);
  return out;
}

}  // namespace gatewayd::upstream
