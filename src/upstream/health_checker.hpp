#pragma once
// Active health checks, off the request path: for every service whose health_check is enabled,
// each endpoint is probed every `interval` (GET `path`, bounded by `timeout`) on the control
// io_context. `unhealthy_threshold` failed probes in a row mark it unhealthy,
// `healthy_threshold` passing probes in a row mark it healthy again; the verdict goes into the
// shared Endpoint, which every worker's load balancer reads. A probe passes when the status is
// in `expected_statuses`. https endpoints are probed over TLS with the service's client
// settings (the same as proxied requests): a failed handshake or certificate verification fails
// the probe and logs the reason.
//
// update() is called with the current services after every config publish; probes of endpoints
// that stay keep their streaks, removed ones stop, new ones start.
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "gatewayd/records.hpp"
#include "upstream/service_endpoints.hpp"
#include "upstream/tls_client.hpp"

namespace gatewayd::upstream {

class HealthChecker {
 public:
  // `sink` (optional) receives a service_instances upsert on every health change; it must
  // stay valid while the executor's io_context runs.
  explicit HealthChecker(boost::asio::any_io_executor executor, RecordSink* sink = nullptr);
  ~HealthChecker();  // stop()
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Thread-safe: the change is applied on the executor. `tls` holds the client settings of the
  // https endpoints (the set proxied requests use, built above this module); without it their
  // probes fail.
  void update(std::vector<std::shared_ptr<const ServiceEndpoints>> services,
              std::shared_ptr<const TlsClients> tls = nullptr);
  // Thread-safe: every probe loop ends (probes in flight are aborted).
  void stop();

  // Whether `status` is in one of the inclusive ranges.
  static bool status_expected(const HealthCheckConfig& config, unsigned status) noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace gatewayd::upstream
