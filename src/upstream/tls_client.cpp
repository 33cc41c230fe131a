#include "upstream/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

namespace gatewayd::tls {

namespace asio = boost::asio;

boost::system::error_code prepare_client(SSL* ssl, const std::string& server_name, bool verify) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(server_name, ec);
  const bool is_ip = !ec;
  ec.clear();
  auto failed = [] {
    return boost::system::error_code(static_cast<int>(ERR_get_error()),
                                     asio::error::get_ssl_category());
  };
  if (!is_ip && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) return failed();
  if (!verify) return ec;
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), address.to_string().c_str()) != 1) {
      return failed();
    }
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, server_name.c_str()) != 1) return failed();
  }
  return ec;
}

std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
  if (ssl != nullptr) {
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
      return std::string("certificate verification failed: ") +
             X509_verify_cert_error_string(result);
    }
  }
  return ec.message();
}

}  // namespace gatewayd::tls
