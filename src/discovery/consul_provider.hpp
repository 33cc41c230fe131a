#pragma once
// Consul: one blocking-query loop per service on /v1/health/service/<name>?passing=true.
// The loop sends the last X-Consul-Index with wait=, so Consul holds the call until the
// service changes; the index resets when it goes backwards or is 0, calls for one service are
// at least min_interval apart, failures back off exponentially and keep the last set.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "discovery/discovery_options.hpp"
#include "discovery/discovery_provider.hpp"
#include "discovery/discovery_registry.hpp"
#include "discovery/watch_group.hpp"

namespace gatewayd::discovery {

class ConsulProvider final : public DiscoveryProvider {
 public:
  ConsulProvider(boost::asio::any_io_executor control, DiscoveryRegistry& registry,
                 ConsulOptions options);
  ~ConsulProvider() override;

  const std::string& name() const noexcept override { return name_; }
  void watch(const ServiceConfig& service) override;
  void unwatch(const std::string& service) override;
  void stop() override;

 private:
  boost::asio::awaitable<void> run(std::string service, StopFlag stop);

  const std::string name_ = "consul";
  DiscoveryRegistry& registry_;
  const ConsulOptions options_;
  WatchGroup watches_;  // last: its shutdown ends the loops before the members above go
};

}  // namespace gatewayd::discovery
