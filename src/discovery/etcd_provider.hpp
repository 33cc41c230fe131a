#pragma once
// etcd v3 through its JSON gateway: per service, a range over <prefix><service>/ and then a
// watch stream from the next revision, applying PUT and DELETE events as they come. A compacted
// start revision, a canceled watch or a broken stream leads to a fresh range (re-list); broken
// streams and failed calls move to the next endpoint of ETCD_ENDPOINTS and back off.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "discovery/discovery_options.hpp"
#include "discovery/discovery_provider.hpp"
#include "discovery/discovery_registry.hpp"
#include "discovery/watch_group.hpp"

namespace gatewayd::discovery {

class EtcdProvider final : public DiscoveryProvider {
 public:
  EtcdProvider(boost::asio::any_io_executor control, DiscoveryRegistry& registry,
               EtcdOptions options);
  ~EtcdProvider() override;

  const std::string& name() const noexcept override { return name_; }
  void watch(const ServiceConfig& service) override;
  void unwatch(const std::string& service) override;
  void stop() override;

  // Completed range calls (initial lists and re-lists), for tests and logs.
  std::uint64_t lists() const noexcept { return lists_.load(std::memory_order_relaxed); }

 private:
  boost::asio::awaitable<void> run(std::string service, StopFlag stop);

  const std::string name_ = "etcd";
  DiscoveryRegistry& registry_;
  const EtcdOptions options_;
  std::atomic<std::uint64_t> lists_{0};
  WatchGroup watches_;  // last: its shutdown ends the loops before the members above go
};

}  // namespace gatewayd::discovery
