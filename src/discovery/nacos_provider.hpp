#pragma once
// Nacos: one polling loop per service on the instance list (v1 or v2 open API), at the interval
// the server asks for (cacheMillis, bounded by poll_min/poll_max). Disabled instances are
// dropped, unhealthy ones kept but marked, weight 0 drains. On failure the loop moves to the
// next server of the list and backs off; the last set stays.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "discovery/discovery_options.hpp"
#include "discovery/discovery_provider.hpp"
#include "discovery/discovery_registry.hpp"
#include "discovery/nacos_auth.hpp"
#include "discovery/watch_group.hpp"

namespace gatewayd::discovery {

class NacosProvider final : public DiscoveryProvider {
 public:
  NacosProvider(boost::asio::any_io_executor control, DiscoveryRegistry& registry,
                NacosOptions options);
  ~NacosProvider() override;

  const std::string& name() const noexcept override { return name_; }
  void watch(const ServiceConfig& service) override;
  void unwatch(const std::string& service) override;
  void stop() override;

 private:
  boost::asio::awaitable<void> run(std::string service, StopFlag stop);

  const std::string name_ = "nacos";
  DiscoveryRegistry& registry_;
  const NacosOptions options_;
  NacosAuth auth_;
  WatchGroup watches_;  // last: its shutdown ends the loops before the members above go
};

}  // namespace gatewayd::discovery
