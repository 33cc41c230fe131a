#include "server/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gatewayd::tls {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

namespace {

// ALPN wire format: length-prefixed protocol names.
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    if (!out.empty()) out += "; ";
    const char* lib = ERR_lib_error_string(e);
    const char* reason = ERR_reason_error_string(e);
    if (lib != nullptr) out.append(lib).append(": ");
    out += reason != nullptr ? reason : "error " + std::to_string(e);
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

[[noreturn]] void fail(const std::string& label, const std::string& file, std::string_view what) {
  ERR_clear_error();
  throw TlsError(label + " '" + file + "': " + std::string(what));
}

[[noreturn]] void fail_openssl(const std::string& label, const std::string& file,
                               std::string_view what) {
  const std::string detail = openssl_errors();
  throw TlsError(label + " '" + file + "': " + std::string(what) + " (" + detail + ")");
}

// A clear message for a missing or unreadable file before OpenSSL's less readable one.
void require_readable(const std::string& label, const std::string& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) fail(label, file, std::string("cannot read: ") + std::strerror(errno));
  std::fclose(f);
}

// Keys are never read interactively: an encrypted key fails instead of prompting on a tty.
int no_password(char*, int, int, void*) {
  return 0;
}

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  if (SSL_select_next_proto(&selected, &selected_len, kAlpnHttp11, sizeof kAlpnHttp11, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    // RFC 7301 3.2: no protocol in common is a fatal no_application_protocol alert.
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  *outlen = selected_len;
  return SSL_TLSEXT_ERR_OK;
}

void apply_floor(SSL_CTX* ctx, int min_version) {
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    throw TlsError("TLS cipher list refused by OpenSSL (" + openssl_errors() + ")");
  }
}

void load_chain_and_key(SSL_CTX* ctx, const std::string& cert_label, const std::string& cert,
                        const std::string& key_label, const std::string& key) {
  require_readable(cert_label, cert);
  require_readable(key_label, key);
  SSL_CTX_set_default_passwd_cb(ctx, no_password);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    fail_openssl(cert_label, cert, "not a usable PEM certificate chain");
  }
  // Read apart from installing it, so a key of another certificate gets its own message.
  EVP_PKEY* pkey = nullptr;
  if (std::FILE* f = std::fopen(key.c_str(), "rb")) {
    pkey = PEM_read_PrivateKey(f, nullptr, no_password, nullptr);
    std::fclose(f);
  }
  if (pkey == nullptr) fail_openssl(key_label, key, "not a usable unencrypted PEM private key");
  const int installed = SSL_CTX_use_PrivateKey(ctx, pkey);
  EVP_PKEY_free(pkey);
  if (installed != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    fail_openssl(key_label, key, "does not match the certificate in " + cert_label);
  }
}

void load_ca(SSL_CTX* ctx, const std::string& label, const std::string& file) {
  require_readable(label, file);
  if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
    fail_openssl(label, file, "not a usable PEM CA bundle");
  }
}

std::string name_of(X509_NAME* name) {
  if (name == nullptr) return "?";
  char buf[256];
  X509_NAME_oneline(name, buf, sizeof buf);
  return buf;
}

}  // namespace

bool listener_enabled(const Settings& settings) {
  return !settings.get("TLS_CERT_FILE").empty() && !settings.get("TLS_KEY_FILE").empty();
}

ServerOptions server_options_from(const Settings& settings) {
  ServerOptions o;
  o.cert_file = settings.get("TLS_CERT_FILE");
  o.key_file = settings.get("TLS_KEY_FILE");
  o.min_version = settings.get("TLS_MIN_VERSION") == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  const auto verify = settings.get("TLS_CLIENT_VERIFY");
  o.client_auth = verify == "required"   ? ClientAuth::kRequired
                  : verify == "optional" ? ClientAuth::kOptional
                                         : ClientAuth::kNone;
  o.client_ca_file = settings.get("TLS_CLIENT_CA_FILE");
  return o;
}

std::shared_ptr<ssl::context> make_server_context(const ServerOptions& options) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  apply_floor(ctx, options.min_version);
  load_chain_and_key(ctx, "TLS_CERT_FILE", options.cert_file, "TLS_KEY_FILE", options.key_file);
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  // Sessions resumed from a ticket must belong to this server configuration.
  static constexpr unsigned char kSessionContext[] = "gatewayd";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  if (options.client_auth != ClientAuth::kNone) {
    if (options.client_ca_file.empty()) {
      throw TlsError("TLS_CLIENT_VERIFY needs TLS_CLIENT_CA_FILE");
    }
    load_ca(ctx, "TLS_CLIENT_CA_FILE", options.client_ca_file);
    // The CA names are sent in the CertificateRequest so clients pick the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr) {
      fail_openssl("TLS_CLIENT_CA_FILE", options.client_ca_file, "holds no CA certificate");
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER;
    if (options.client_auth == ClientAuth::kRequired) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  return context;
}

namespace {

int session_receiver_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int on_new_client_session(SSL* ssl, SSL_SESSION* session) {
  if (auto* receiver =
          static_cast<ClientSessionReceiver*>(SSL_get_ex_data(ssl, session_receiver_index()))) {
    receiver->on_client_session(session);
  }
  return 0;  // OpenSSL keeps its reference
}

}  // namespace

void set_session_receiver(SSL* ssl, ClientSessionReceiver* receiver) {
  SSL_set_ex_data(ssl, session_receiver_index(), receiver);
}

std::shared_ptr<ssl::context> make_client_context(const ClientOptions& options) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  apply_floor(ctx, TLS1_2_VERSION);
  if (SSL_CTX_set_alpn_protos(ctx, kAlpnHttp11, sizeof kAlpnHttp11) != 0) {
    throw TlsError("cannot set ALPN (" + openssl_errors() + ")");
  }
  if (options.verify) {
    if (options.ca_file.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        throw TlsError("cannot load the system CA store (" + openssl_errors() + ")");
      }
    } else {
      load_ca(ctx, options.ca_label, options.ca_file);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    load_chain_and_key(ctx, options.cert_label, options.cert_file, options.key_label,
                       options.key_file);
  }
  // New sessions go to the connection's receiver (the worker's pool), not to the context's
  // internal cache: that one is shared by every worker under a lock and keyed by session id,
  // not by the pool's host:port and service.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &on_new_client_session);
  return context;
}

std::string describe_certificate(ssl::context& context) {
  X509* cert = SSL_CTX_get0_certificate(context.native_handle());
  if (cert == nullptr) return "no certificate";
  std::string out = "subject " + name_of(X509_get_subject_name(cert)) + ", issuer " +
                    name_of(X509_get_issuer_name(cert));
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
      char* data = nullptr;
      const long len = BIO_get_mem_data(bio, &data);
      out += ", valid until " + std::string(data, static_cast<std::size_t>(len));
    }
    BIO_free(bio);
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) out += " (EXPIRED)";
  return out;
}

std::string check_listener_files(const Settings& settings) {
  if (!listener_enabled(settings)) return {};
  try {
    make_server_context(server_options_from(settings));
    return {};
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

}  // namespace gatewayd::tls
