// The TLS contexts built from the settings: unusable files refused with the setting and file
// named, the protocol floor and cipher list, client-certificate modes, the upstream contexts
// per service, and the HTTPS redirect's Location.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>

#include "gatewayd/config.hpp"
#include "gatewayd/settings.hpp"
#include "server/https_redirect.hpp"
#include "server/tls_context.hpp"
#include "server/upstream_tls.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd {
namespace {

using tls::TlsError;

// A self-signed P-256 certificate and its key, written as PEM files.
struct KeyPair {
  std::string cert, key;
};

KeyPair make_self_signed(const test::TempDir& dir, const std::string& name) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  X509_sign(x, pkey, EVP_sha256());
  KeyPair out{(dir.path() / (name + ".crt")).string(), (dir.path() / (name + ".key")).string()};
  std::FILE* f = std::fopen(out.cert.c_str(), "wb");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(out.key.c_str(), "wb");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
  return out;
}

Settings settings_with(const std::map<std::string, std::string>& env) {
  return load_settings({}, "/nonexistent-gatewayd-dir", env);
}

std::string thrown_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

class TlsContextTest : public ::testing::Test {
 protected:
  test::TempDir dir{"gatewayd-tls-unit"};
  KeyPair a = make_self_signed(dir, "a");
  KeyPair b = make_self_signed(dir, "b");
};

TEST_F(TlsContextTest, ServerContextHasTheProtocolFloorCiphersAndCertificate) {
  tls::ServerOptions o;
  o.cert_file = a.cert;
  o.key_file = a.key;
  auto ctx = tls::make_server_context(o);
  SSL_CTX* c = ctx->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get0_certificate(c), nullptr);
  EXPECT_EQ(SSL_CTX_get_verify_mode(c), SSL_VERIFY_NONE);
  // Every TLS 1.2 suite is ECDHE + AEAD; TLS 1.3 suites stay enabled.
  bool has_tls13 = false;
  const auto* ciphers = SSL_CTX_get_ciphers(c);
  ASSERT_NE(ciphers, nullptr);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    if (SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any) {  // TLS 1.3 suites name no key exchange
      has_tls13 = true;
      continue;
    }
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe) << SSL_CIPHER_get_name(cipher);
    EXPECT_EQ(SSL_CIPHER_is_aead(cipher), 1) << SSL_CIPHER_get_name(cipher);
  }
  EXPECT_TRUE(has_tls13);
  EXPECT_NE(tls::describe_certificate(*ctx).find("subject /CN=a"), std::string::npos)
      << tls::describe_certificate(*ctx);

  o.min_version = TLS1_3_VERSION;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(tls::make_server_context(o)->native_handle()),
            TLS1_3_VERSION);
}

TEST_F(TlsContextTest, UnusableFilesAreRefusedNamingTheSettingAndFile) {
  const auto garbage = dir.write_file("garbage.pem", "hello\n").string();
  const auto missing = (dir.path() / "missing.pem").string();
  const auto build = [&](std::string cert, std::string key) {
    return thrown_message([&] {
      tls::ServerOptions o;
      o.cert_file = cert;
      o.key_file = key;
      tls::make_server_context(o);
    });
  };
  auto msg = build(missing, a.key);
  EXPECT_NE(msg.find("TLS_CERT_FILE '" + missing + "': cannot read"), std::string::npos) << msg;
  msg = build(a.cert, missing);
  EXPECT_NE(msg.find("TLS_KEY_FILE '" + missing + "': cannot read"), std::string::npos) << msg;
  msg = build(garbage, a.key);
  EXPECT_NE(msg.find("TLS_CERT_FILE '" + garbage + "': not a usable PEM certificate chain"),
            std::string::npos)
      << msg;
  msg = build(a.cert, garbage);
  EXPECT_NE(msg.find("TLS_KEY_FILE '" + garbage + "'"), std::string::npos) << msg;
  msg = build(a.cert, b.key);
  EXPECT_NE(msg.find("does not match the certificate in TLS_CERT_FILE"), std::string::npos) << msg;
}

TEST_F(TlsContextTest, ClientCertificateModes) {
  tls::ServerOptions o;
  o.cert_file = a.cert;
  o.key_file = a.key;
  o.client_ca_file = b.cert;
  o.client_auth = tls::ClientAuth::kOptional;
  EXPECT_EQ(SSL_CTX_get_verify_mode(tls::make_server_context(o)->native_handle()), SSL_VERIFY_PEER);
  o.client_auth = tls::ClientAuth::kRequired;
  auto required = tls::make_server_context(o);
  EXPECT_EQ(SSL_CTX_get_verify_mode(required->native_handle()),
            SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_EQ(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(required->native_handle())), 1);
  o.client_ca_file = (dir.path() / "none.pem").string();
  EXPECT_NE(thrown_message([&] { tls::make_server_context(o); }).find("TLS_CLIENT_CA_FILE"),
            std::string::npos);
}

TEST_F(TlsContextTest, SettingsFromTheEnvironment) {
  const auto s = settings_with({{"TLS_CERT_FILE", a.cert},
                                {"TLS_KEY_FILE", a.key},
                                {"TLS_MIN_VERSION", "1.3"},
                                {"TLS_CLIENT_VERIFY", "required"},
                                {"TLS_CLIENT_CA_FILE", b.cert}});
  EXPECT_TRUE(tls::listener_enabled(s));
  const auto o = tls::server_options_from(s);
  EXPECT_EQ(o.min_version, TLS1_3_VERSION);
  EXPECT_EQ(o.client_auth, tls::ClientAuth::kRequired);
  EXPECT_EQ(tls::check_listener_files(s), "");
  EXPECT_FALSE(tls::listener_enabled(settings_with({})));
  EXPECT_EQ(tls::check_listener_files(settings_with({})), "");
  EXPECT_NE(
      tls::check_listener_files(settings_with({{"TLS_CERT_FILE", a.cert}, {"TLS_KEY_FILE", b.key}}))
          .find("does not match"),
      std::string::npos);
}

TEST_F(TlsContextTest, InconsistentTlsSettingsAreStartupErrors) {
  const auto refused = [&](std::map<std::string, std::string> env) {
    return thrown_message([&] { settings_with(env); });
  };
  EXPECT_NE(refused({{"TLS_CERT_FILE", a.cert}}).find("set together"), std::string::npos);
  EXPECT_NE(
      refused(
          {{"TLS_CERT_FILE", a.cert}, {"TLS_KEY_FILE", a.key}, {"TLS_CLIENT_VERIFY", "required"}})
          .find("needs TLS_CLIENT_CA_FILE"),
      std::string::npos);
  EXPECT_NE(refused({{"TLS_CLIENT_VERIFY", "optional"}, {"TLS_CLIENT_CA_FILE", b.cert}})
                .find("needs TLS_CERT_FILE"),
            std::string::npos);
  EXPECT_NE(refused({{"HTTP_REDIRECT_PORT", "8080"}}).find("needs TLS_CERT_FILE"),
            std::string::npos);
  EXPECT_NE(refused({{"TLS_CLIENT_VERIFY", "sometimes"}}).find("TLS_CLIENT_VERIFY"),
            std::string::npos);
  EXPECT_NE(refused({{"UPSTREAM_CLIENT_CERT_FILE", a.cert}}).find("set together"),
            std::string::npos);
}

TEST_F(TlsContextTest, UpstreamContextsPerServiceWithGlobalDefaults) {
  Config config;
  ServiceConfig plain;
  plain.name = "plain";
  config.services.emplace("plain", plain);
  ServiceConfig own;
  own.name = "own";
  own.tls.ca_file = b.cert;
  own.tls.server_name = "api.internal";
  config.services.emplace("own", own);
  ServiceConfig off;
  off.name = "off";
  off.tls.verify = false;
  config.services.emplace("off", off);

  std::vector<std::string> warnings;
  const auto set = UpstreamTls::build(settings_with({{"UPSTREAM_CA_FILE", a.cert},
                                                     {"UPSTREAM_CLIENT_CERT_FILE", a.cert},
                                                     {"UPSTREAM_CLIENT_KEY_FILE", a.key}}),
                                      config, &warnings);
  const auto& d = set->for_service("plain");
  EXPECT_TRUE(d.verify);
  EXPECT_EQ(SSL_CTX_get_verify_mode(d.context->native_handle()), SSL_VERIFY_PEER);
  EXPECT_NE(SSL_CTX_get0_certificate(d.context->native_handle()), nullptr);  // mTLS default
  EXPECT_EQ(SSL_CTX_get_min_proto_version(d.context->native_handle()), TLS1_2_VERSION);
  EXPECT_EQ(&set->for_service("unknown"), &d);
  const auto& o = set->for_service("own");
  EXPECT_NE(o.context, d.context);
  EXPECT_EQ(o.server_name, "api.internal");
  EXPECT_TRUE(o.verify);
  const auto& f = set->for_service("off");
  EXPECT_FALSE(f.verify);
  EXPECT_EQ(SSL_CTX_get_verify_mode(f.context->native_handle()), SSL_VERIFY_NONE);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("service off: tls_verify is false"), std::string::npos);

  own.tls.ca_file = (dir.path() / "gone.pem").string();
  config.services["own"] = own;
  EXPECT_NE(thrown_message([&] {
              UpstreamTls::build(settings_with({}), config);
            }).find("services.own tls_ca_file '" + own.tls.ca_file + "': cannot read"),
            std::string::npos);
}

TEST(HttpsRedirect, LocationKeepsHostAndTargetAndNamesThePort) {
  EXPECT_EQ(https_location("api.example.com", "/a/b?c=1", 443), "https://api.example.com/a/b?c=1");
  EXPECT_EQ(https_location("api.example.com:80", "/x", 8443), "https://api.example.com:8443/x");
  EXPECT_EQ(https_location("[::1]:8080", "/", 443), "https://[::1]/");
  EXPECT_EQ(https_location("10.0.0.1", "*", 443), "https://10.0.0.1/");
  EXPECT_EQ(https_location("", "/", 443), std::nullopt);
  EXPECT_EQ(https_location("evil.com/x", "/", 443), std::nullopt);
  EXPECT_EQ(https_location("a.com:80x", "/", 443), std::nullopt);
  EXPECT_EQ(https_location("[::1", "/", 443), std::nullopt);
  EXPECT_EQ(https_location("a b", "/", 443), std::nullopt);
}

}  // namespace
}  // namespace gatewayd
