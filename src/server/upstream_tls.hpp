#pragma once
// The client TLS contexts used towards https:// upstreams, one per service that has TLS fields
// of its own in services.yaml and one default built from the UPSTREAM_* settings. Immutable once
// built; a config reload builds a new set (and refuses the reload when a file is unusable), and
// the workers swap to it with the snapshot. OpenSSL contexts are safe to share between threads
// for creating connections, so one set serves every worker.
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gatewayd/config.hpp"
#include "gatewayd/settings.hpp"
#include "upstream/tls_client.hpp"

namespace gatewayd {

using UpstreamTlsEntry = upstream::TlsClient;

// Implements upstream::TlsClients so that the health checker (a lower module) probes https
// endpoints with exactly these contexts.
class UpstreamTls final : public upstream::TlsClients {
 public:
  // Throws tls::TlsError (naming the setting or the service field and the file) when a file is
  // missing or unusable. `warnings` receives one line per service that turns verification off.
  static std::shared_ptr<const UpstreamTls> build(const Settings& settings, const Config& config,
                                                  std::vector<std::string>* warnings = nullptr);

  // The service's own entry, else the default one.
  const UpstreamTlsEntry& for_service(std::string_view service) const noexcept override;

 private:
  UpstreamTlsEntry default_;
  std::map<std::string, UpstreamTlsEntry, std::less<>> services_;
};

}  // namespace gatewayd
