#pragma once
// What a TLS client connection to an https:// upstream needs, seen from this module: the
// per-service client settings and the per-connection preparation (SNI, name to verify).
//
// The contexts themselves are built from the settings and services.yaml by gw_server
// (server/upstream_tls.*), which sits above this module; it implements TlsClients and hands
// the current set to the health checker. That keeps one source of TLS settings for proxied
// traffic and for active health checks without a dependency from upstream/ onto server/.
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>
#include <string_view>

namespace gatewayd {

namespace upstream {

struct TlsClient {
  std::shared_ptr<boost::asio::ssl::context> context;
  bool verify = true;
  std::string server_name;  // empty: the endpoint's host
};

// The client settings of every service. Immutable once built; shared between threads.
class TlsClients {
 public:
  virtual ~TlsClients() = default;
  // The service's own entry, else the default one.
  virtual const TlsClient& for_service(std::string_view service) const noexcept = 0;
};

}  // namespace upstream

namespace tls {

// Per connection, before the client handshake: SNI (for names, not IP literals) and, when
// verifying, the host name or IP address the certificate must match.
boost::system::error_code prepare_client(SSL* ssl, const std::string& server_name, bool verify);

// Why a handshake failed, for logs: the certificate verification error when there is one,
// otherwise the error's message.
std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec);

}  // namespace tls

}  // namespace gatewayd
