#pragma once
// OpenSSL contexts of the gateway: the public listener's (TLS termination, optional client
// certificates) and the clients' used towards https:// upstreams. Built on the control plane
// (start-up, SIGHUP, config reload); failures throw TlsError naming the setting and the file.
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gatewayd/settings.hpp"
// prepare_client() and handshake_failure() live with the upstream module's TLS client types:
// the health checker uses them too.
#include "upstream/tls_client.hpp"

namespace gatewayd::tls {

class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// TLS 1.2 suites: ECDHE key exchange and AEAD ciphers only (forward secrecy, no CBC, no RSA key
// transport). TLS 1.3 suites are OpenSSL's defaults, which are all AEAD.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

enum class ClientAuth : std::uint8_t { kNone, kOptional, kRequired };

struct ServerOptions {
  std::string cert_file;  // TLS_CERT_FILE
  std::string key_file;   // TLS_KEY_FILE
  int min_version = TLS1_2_VERSION;
  ClientAuth client_auth = ClientAuth::kNone;
  std::string client_ca_file;  // TLS_CLIENT_CA_FILE
};

// True when TLS_CERT_FILE/TLS_KEY_FILE are set: the public listener speaks TLS only.
bool listener_enabled(const Settings& settings);
ServerOptions server_options_from(const Settings& settings);

// The listener's context: the certificate chain and key (checked to match), the protocol floor,
// the cipher list, ALPN "http/1.1", and client-certificate verification when asked.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const ServerOptions& options);

struct ClientOptions {
  bool verify = true;
  std::string ca_file;    // empty: the system's default trust store
  std::string cert_file;  // client certificate for mTLS (with key_file)
  std::string key_file;
  // Names used in error messages for each file ("UPSTREAM_CA_FILE", "services.x tls_ca_file").
  std::string ca_label = "CA file", cert_label = "certificate", key_label = "key";
};

// A client context for https:// upstreams: TLS 1.2+, the same cipher floor, ALPN "http/1.1",
// peer verification against `ca_file` (or the system store) unless verify is false.
std::shared_ptr<boost::asio::ssl::context> make_client_context(const ClientOptions& options);

// Receives the sessions a client connection establishes, for resuming them on later
// connections: OpenSSL reports one at the end of a full TLS 1.2 handshake and one per TLS 1.3
// session ticket, which arrives after the handshake (usually before the first response).
class ClientSessionReceiver {
 public:
  // `session` stays OpenSSL's: take a reference or a copy to keep it.
  virtual void on_client_session(SSL_SESSION* session) noexcept = 0;

 protected:
  ~ClientSessionReceiver() = default;
};

// Makes `receiver` the one of the connection `ssl`, made from a make_client_context() context.
// It must stay valid while the connection is read from. Without one, sessions are dropped.
void set_session_receiver(SSL* ssl, ClientSessionReceiver* receiver);

// "subject CN=..., issuer ..., valid until ..." of the context's certificate, for logs.
std::string describe_certificate(boost::asio::ssl::context& context);

// Reads the listener's files now and reports problems (for --check-config and --verify).
// Empty when TLS is off or everything is fine.
std::string check_listener_files(const Settings& settings);

}  // namespace gatewayd::tls
