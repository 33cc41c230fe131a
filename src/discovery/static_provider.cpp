#include "discovery/static_provider.hpp"

namespace gatewayd::discovery {

void StaticProvider::watch(const ServiceConfig& service) {
  registry_.expect(service.name, name_);
  registry_.report_ok(name_, service.name);
  registry_.publish(endpoint_set_from_config(service, name_));
}

}  // namespace gatewayd::discovery
