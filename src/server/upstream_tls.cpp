#include "server/upstream_tls.hpp"

#include "server/tls_context.hpp"

namespace gatewayd {

std::shared_ptr<const UpstreamTls> UpstreamTls::build(const Settings& settings,
                                                      const Config& config,
                                                      std::vector<std::string>* warnings) {
  auto out = std::make_shared<UpstreamTls>();
  tls::ClientOptions defaults;
  defaults.ca_file = settings.get("UPSTREAM_CA_FILE");
  defaults.cert_file = settings.get("UPSTREAM_CLIENT_CERT_FILE");
  defaults.key_file = settings.get("UPSTREAM_CLIENT_KEY_FILE");
  defaults.ca_label = "UPSTREAM_CA_FILE";
  defaults.cert_label = "UPSTREAM_CLIENT_CERT_FILE";
  defaults.key_label = "UPSTREAM_CLIENT_KEY_FILE";
  out->default_.context = tls::make_client_context(defaults);

  for (const auto& [name, service] : config.services) {
    const auto& t = service.tls;
    if (!t.configured()) continue;
    tls::ClientOptions o = defaults;
    o.verify = t.verify;
    const std::string prefix = "services." + name + " ";
    if (!t.ca_file.empty()) {
      o.ca_file = t.ca_file;
      o.ca_label = prefix + "tls_ca_file";
    }
    if (!t.cert_file.empty()) {
      o.cert_file = t.cert_file;
      o.key_file = t.key_file;
      o.cert_label = prefix + "tls_cert_file";
      o.key_label = prefix + "tls_key_file";
    }
    UpstreamTlsEntry entry;
    entry.context = tls::make_client_context(o);
    entry.verify = t.verify;
    entry.server_name = t.server_name;
    if (!t.verify && warnings != nullptr) {
      warnings->push_back("service " + name +
                          ": tls_verify is false, upstream certificates and host names are NOT "
                          "verified");
    }
    out->services_.emplace(name, std::move(entry));
  }
  return out;
}

const UpstreamTlsEntry& UpstreamTls::for_service(std::string_view service) const noexcept {
  if (const auto it = services_.find(service); it != services_.end()) return it->second;
  return default_;
}

}  // namespace gatewayd
