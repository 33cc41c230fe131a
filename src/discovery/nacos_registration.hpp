#pragma once
// Nacos self-registration as an ephemeral instance: POST /nacos/v1/ns/instance, then
// PUT /nacos/v1/ns/instance/beat at the server's clientBeatInterval (registering again when the
// server answers that it no longer knows the instance), and DELETE /nacos/v1/ns/instance on
// stop.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "clients/http_client.hpp"
#include "discovery/discovery_options.hpp"
#include "discovery/nacos_auth.hpp"
#include "discovery/nacos_codec.hpp"
#include "discovery/self_registration.hpp"
#include "discovery/watch_group.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::discovery {

class NacosRegistration final : public SelfRegistration {
 public:
  NacosRegistration(boost::asio::any_io_executor control, NacosOptions nacos,
                    RegistrationOptions options,
                    metrics::Registry& metrics = metrics::Registry::global());
  ~NacosRegistration() override;

  void start() override;
  bool stop(std::chrono::milliseconds timeout) override;
  bool registered() const noexcept override { return registered_.load(); }
  std::uint64_t beats() const noexcept { return beats_.load(); }

 private:
  boost::asio::awaitable<void> run(StopFlag stop);
  boost::asio::awaitable<bool> deregister();
  // One call with the login token (when configured) added to the query.
  boost::asio::awaitable<HttpClientResponse> call(boost::beast::http::verb method, std::string path,
                                                  FormFields fields);

  const NacosOptions nacos_;
  const RegistrationOptions options_;
  NacosAuth auth_;
  metrics::Counter& errors_;
  std::atomic<bool> registered_{false};
  std::atomic<bool> ever_registered_{false};
  std::atomic<std::uint64_t> beats_{0};
  std::size_t server_ = 0;
  bool stopped_ = false;
  WatchGroup loop_;
};

}  // namespace gatewayd::discovery
