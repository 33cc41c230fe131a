#pragma once
// Wires discovery together for the app: one provider per type in use (static, consul, nacos,
// etcd; per service overridable), the services.yaml fallback after the start-up wait, the
// service_instances snapshots, and self-registration.
//
// Typical use (the control executor runs on its own thread):
//
//   DiscoveryRegistry registry;
//   DiscoveryService discovery(control.get_executor(), registry, sink, options);
//   registry.subscribe([&](const DiscoveryChange& c) { /* rebuild LB view, drain c.removed */ });
//   discovery.set_services(config->services);           // again after every reload
//   discovery.wait_ready(options.startup_wait + 1s);    // before accepting traffic
//   discovery.start_registration();
//   ...
//   discovery.stop();                                   // deregisters, ends every loop
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "discovery/discovery_options.hpp"
#include "discovery/discovery_provider.hpp"
#include "discovery/discovery_registry.hpp"
#include "discovery/self_registration.hpp"
#include "discovery/watch_group.hpp"
#include "gatewayd/config.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd::discovery {

class DiscoveryService {
 public:
  DiscoveryService(boost::asio::any_io_executor control, DiscoveryRegistry& registry,
                   RecordSink& records, DiscoveryOptions options);
  ~DiscoveryService();  // stop()
  DiscoveryService(const DiscoveryService&) = delete;
  DiscoveryService& operator=(const DiscoveryService&) = delete;

  // Follows exactly these services: starts new ones, passes new static instances on, stops and
  // forgets services that are gone. Services of a network type get their services.yaml
  // instances published as a fallback when their backend has not answered within
  // startup_wait (DISCOVERY_FALLBACK_STATIC). Thread-safe.
  void set_services(const std::map<std::string, ServiceConfig, std::less<>>& services);

  // Blocks until every service has a set (from its backend or the fallback) or `timeout`
  // passes; returns whether they all have one.
  bool wait_ready(std::chrono::milliseconds timeout);

  // Registers the gateway with the configured backend (consul or nacos) when
  // options.registration.enabled; a no-op otherwise.
  void start_registration();
  SelfRegistration* registration() noexcept { return registration_.get(); }

  // Deregisters (bounded by `timeout`), then stops every provider. Idempotent. Call it from a
  // thread other than the control executor's.
  void stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  DiscoveryRegistry& registry() noexcept { return registry_; }
  DiscoveryStatus status() const { return registry_.status(); }
  const DiscoveryOptions& options() const noexcept { return options_; }
  // The provider of a type, created on first use; null for an unknown type.
  DiscoveryProvider* provider(const std::string& type);

 private:
  void on_change(const DiscoveryChange& change);
  void submit_records(const DiscoveryChange& change);

  boost::asio::any_io_executor control_;
  DiscoveryRegistry& registry_;
  RecordSink& records_;
  const DiscoveryOptions options_;

  std::mutex mutex_;  // providers_, types_, stopped_
  std::map<std::string, std::unique_ptr<DiscoveryProvider>> providers_;
  std::map<std::string, std::string> types_;  // service -> provider type
  bool stopped_ = false;

  std::mutex configs_mutex_;  // configs_ (read by the change callback)
  std::map<std::string, ServiceConfig, std::less<>> configs_;

  std::mutex ready_mutex_;
  std::condition_variable ready_cv_;

  std::unique_ptr<SelfRegistration> registration_;
  DiscoveryRegistry::SubscriptionId subscription_ = 0;
  WatchGroup fallbacks_;  // one start-up timer per service waiting for its backend
};

}  // namespace gatewayd::discovery
