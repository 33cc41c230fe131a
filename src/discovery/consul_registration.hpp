#pragma once
// Consul self-registration: PUT /v1/agent/service/register with an HTTP check on the gateway's
// health path, re-registered when the agent forgot it (checked every refresh_interval), and
// PUT /v1/agent/service/deregister/<id> on stop.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "discovery/discovery_options.hpp"
#include "discovery/self_registration.hpp"
#include "discovery/watch_group.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::discovery {

class ConsulRegistration final : public SelfRegistration {
 public:
  ConsulRegistration(boost::asio::any_io_executor control, ConsulOptions consul,
                     RegistrationOptions options,
                     metrics::Registry& metrics = metrics::Registry::global());
  ~ConsulRegistration() override;

  void start() override;
  bool stop(std::chrono::milliseconds timeout) override;
  bool registered() const noexcept override { return registered_.load(); }

 private:
  boost::asio::awaitable<void> run(StopFlag stop);
  boost::asio::awaitable<bool> deregister();

  const ConsulOptions consul_;
  const RegistrationOptions options_;
  metrics::Counter& errors_;
  std::atomic<bool> registered_{false};
  std::atomic<bool> ever_registered_{false};
  bool stopped_ = false;
  WatchGroup loop_;
};

}  // namespace gatewayd::discovery
