// Active health checks of https endpoints: the probe's TLS handshake verifies the certificate
// (CA, host name or IP, SNI) and presents the client certificate as proxied requests do, a
// failed handshake fails the probe with its reason, and the checker marks such an endpoint (or
// one whose health path answers 503 over TLS) unhealthy.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "support/polling.hpp"
#include "test_helpers.hpp"
#include "upstream/endpoint_registry.hpp"
#include "upstream/health_checker.hpp"
#include "upstream/health_probe.hpp"
#include "upstream/service_endpoints.hpp"
#include "upstream/tls_client.hpp"

namespace gatewayd::upstream {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using asio::ip::tcp;
using gatewayd::test::eventually;
using namespace std::chrono_literals;

// ------------------------------------------------------------------ certificates in memory

struct KeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const noexcept { X509_free(c); }
};

struct Identity {
  std::unique_ptr<EVP_PKEY, KeyFree> key;
  std::unique_ptr<X509, CertFree> cert;
};

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A P-256 certificate for `cn`: self-signed when `issuer` is null. `sans` is the
// subjectAltName value ("DNS:localhost,IP:127.0.0.1") or empty.
Identity make_identity(const std::string& cn, const Identity* issuer, bool ca,
                       const char* sans = nullptr, const char* usage = nullptr) {
  static int serial = 1;
  Identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, id.key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer_cert = issuer != nullptr ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer_cert));
  add_extension(x, signer_cert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) add_extension(x, signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (sans != nullptr) add_extension(x, signer_cert, NID_subject_alt_name, sans);
  if (usage != nullptr) add_extension(x, signer_cert, NID_ext_key_usage, usage);
  X509_sign(x, issuer != nullptr ? issuer->key.get() : id.key.get(), EVP_sha256());
  return id;
}

struct Pki {
  Identity ca = make_identity("probe test CA", nullptr, true);
  Identity other_ca = make_identity("some other CA", nullptr, true);
  Identity server =
      make_identity("upstream", &ca, false, "DNS:localhost,IP:127.0.0.1", "serverAuth");
  Identity stranger =
      make_identity("stranger", &other_ca, false, "DNS:localhost,IP:127.0.0.1", "serverAuth");
  Identity client = make_identity("gateway-client", &ca, false, nullptr, "clientAuth");
};

const Pki& pki() {
  static const Pki instance;
  return instance;
}

void use_identity(ssl::context& ctx, const Identity& id) {
  ASSERT_EQ(SSL_CTX_use_certificate(ctx.native_handle(), id.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx.native_handle(), id.key.get()), 1);
}

void trust(ssl::context& ctx, const Identity& ca) {
  ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.native_handle()), ca.cert.get()), 1);
}

// A client context as the gateway builds one for a service: trust `ca`, verify unless told not
// to, present `client` when given.
TlsClient client_settings(const Identity* ca, bool verify = true, const Identity* client = nullptr,
                          std::string server_name = {}) {
  TlsClient out;
  out.context = std::make_shared<ssl::context>(ssl::context::tls_client);
  if (ca != nullptr) trust(*out.context, *ca);
  out.context->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
  if (client != nullptr) use_identity(*out.context, *client);
  out.verify = verify;
  out.server_name = std::move(server_name);
  return out;
}

// ------------------------------------------------------------------ an https health endpoint

class TlsHealthServer {
 public:
  explicit TlsHealthServer(const Identity& identity, const Identity* client_ca = nullptr)
      : ctx_(ssl::context::tls_server),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    use_identity(ctx_, identity);
    if (client_ca != nullptr) {
      trust(ctx_, *client_ca);
      ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsHealthServer() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  void set_status(unsigned status) { status_ = status; }
  unsigned answered() const { return answered_.load(); }
  unsigned connections() const { return connections_.load(); }
  std::string last_sni() const {
    std::lock_guard lock(mutex_);
    return last_sni_;
  }
  std::string last_client() const {
    std::lock_guard lock(mutex_);
    return last_client_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++connections_;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket socket) {
    constexpr auto use = asio::as_tuple(asio::use_awaitable);
    ssl::stream<tcp::socket> stream(std::move(socket), ctx_);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use);
    if (hec) co_return;
    {
      std::lock_guard lock(mutex_);
      const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
      last_sni_ = sni != nullptr ? sni : "";
      last_client_.clear();
      if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
        char cn[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
        last_client_ = cn;
        X509_free(peer);
      }
    }
    boost::beast::flat_buffer buffer;
    http::request<http::empty_body> request;
    auto [rec, n] = co_await http::async_read(stream, buffer, request, use);
    if (rec) co_return;
    http::response<http::string_body> response{static_cast<http::status>(status_.load()), 11};
    response.body() = "state";
    response.keep_alive(false);
    response.prepare_payload();
    ++answered_;  // before the write: the prober may act on the answer first
    co_await http::async_write(stream, response, use);
  }

  asio::io_context io_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<unsigned> status_{200};
  std::atomic<unsigned> answered_{0}, connections_{0};
  mutable std::mutex mutex_;
  std::string last_sni_, last_client_;
};

// ------------------------------------------------------------------ probe

class TlsProbeTest : public ::testing::Test {
 protected:
  TlsProbeTest() : work_(asio::make_work_guard(io_)) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsProbeTest() override {
    work_.reset();
    thread_.join();
  }

  ProbeResult probe(std::uint16_t port, TlsClient tls, std::string host = "127.0.0.1") {
    ProbeTarget target;
    target.host = std::move(host);
    target.port = port;
    target.path = "/healthz";
    target.timeout = 5s;
    target.tls = std::move(tls);
    std::promise<ProbeResult> done;
    auto future = done.get_future();
    auto p = std::make_shared<HealthProbe>(io_.get_executor());
    asio::co_spawn(io_, p->run(std::move(target)),
                   [&](std::exception_ptr, ProbeResult r) { done.set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(20s), std::future_status::ready);
    return future.get();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

TEST_F(TlsProbeTest, HandshakeVerifiesTheCertificateSendsSniAndReadsTheStatus) {
  TlsHealthServer server(pki().server);
  auto ok = probe(server.port(), client_settings(&pki().ca, true, nullptr, "localhost"));
  EXPECT_EQ(ok.error, ProbeResult::Error::kNone) << ok.detail;
  EXPECT_EQ(ok.status, 200U);
  EXPECT_EQ(server.last_sni(), "localhost");

  // An IP literal is verified against the certificate's IP addresses and sends no SNI.
  auto by_ip = probe(server.port(), client_settings(&pki().ca));
  EXPECT_EQ(by_ip.error, ProbeResult::Error::kNone) << by_ip.detail;
  EXPECT_EQ(server.last_sni(), "");

  server.set_status(503);
  auto down = probe(server.port(), client_settings(&pki().ca, true, nullptr, "localhost"));
  EXPECT_EQ(down.error, ProbeResult::Error::kNone) << down.detail;
  EXPECT_EQ(down.status, 503U);
}

TEST_F(TlsProbeTest, UntrustedCertificateFailsWithTheReason) {
  TlsHealthServer server(pki().stranger);
  auto r = probe(server.port(), client_settings(&pki().ca, true, nullptr, "localhost"));
  EXPECT_EQ(r.error, ProbeResult::Error::kTls);
  EXPECT_TRUE(r.connected);
  EXPECT_EQ(r.status, 0U);
  EXPECT_NE(r.detail.find("certificate verification failed"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("localhost"), std::string::npos) << r.detail;
  EXPECT_NE(r.verify_error, 0L);
  EXPECT_EQ(server.answered(), 0U);
}

TEST_F(TlsProbeTest, WrongHostNameFails) {
  TlsHealthServer server(pki().server);
  auto r = probe(server.port(), client_settings(&pki().ca, true, nullptr, "billing.internal"));
  EXPECT_EQ(r.error, ProbeResult::Error::kTls);
  EXPECT_EQ(r.verify_error, X509_V_ERR_HOSTNAME_MISMATCH) << r.detail;
}

TEST_F(TlsProbeTest, VerificationOffAcceptsAnyCertificate) {
  TlsHealthServer server(pki().stranger);
  auto r = probe(server.port(), client_settings(nullptr, false, nullptr, "localhost"));
  EXPECT_EQ(r.error, ProbeResult::Error::kNone) << r.detail;
  EXPECT_EQ(r.status, 200U);
}

TEST_F(TlsProbeTest, PresentsTheClientCertificateForMutualTls) {
  TlsHealthServer server(pki().server, &pki().ca);
  auto with = probe(server.port(), client_settings(&pki().ca, true, &pki().client, "localhost"));
  EXPECT_EQ(with.error, ProbeResult::Error::kNone) << with.detail;
  EXPECT_EQ(server.last_client(), "gateway-client");

  // Refused without one: with TLS 1.3 the refusal may only show on the first read, so the
  // probe fails either in the handshake or with no response.
  auto without = probe(server.port(), client_settings(&pki().ca, true, nullptr, "localhost"));
  EXPECT_NE(without.error, ProbeResult::Error::kNone);
  EXPECT_EQ(without.status, 0U);
}

TEST_F(TlsProbeTest, NoClientContextFailsInsteadOfPassingOnAConnect) {
  TlsHealthServer server(pki().server);
  auto r = probe(server.port(), TlsClient{});
  EXPECT_EQ(r.error, ProbeResult::Error::kTls);
  EXPECT_TRUE(r.connected);
  EXPECT_FALSE(r.detail.empty());
}

// ------------------------------------------------------------------ checker

class FixedTlsClients final : public TlsClients {
 public:
  explicit FixedTlsClients(TlsClient client) : client_(std::move(client)) {}
  const TlsClient& for_service(std::string_view) const noexcept override { return client_; }

 private:
  TlsClient client_;
};

class TlsHealthCheckerTest : public ::testing::Test {
 protected:
  TlsHealthCheckerTest() : work_(asio::make_work_guard(control_)) {
    thread_ = std::thread([this] { control_.run(); });
  }
  ~TlsHealthCheckerTest() override {
    checker_.reset();
    work_.reset();
    control_.stop();
    thread_.join();
  }

  std::shared_ptr<const ServiceEndpoints> https_service(const std::string& name,
                                                        std::uint16_t port) {
    ServiceConfig c;
    c.name = name;
    auto i = test::instance("127.0.0.1", port);
    i.scheme = "https";
    i.url = "https://" + i.id;
    c.instances = {i};
    c.health_check.enabled = true;
    c.health_check.path = "/healthz";
    c.health_check.interval = 10ms;
    c.health_check.timeout = 2s;
    c.health_check.healthy_threshold = 1;
    c.health_check.unhealthy_threshold = 2;
    return ServiceEndpoints::build(registry_, c);
  }
  HealthChecker& checker() {
    if (!checker_) checker_ = std::make_unique<HealthChecker>(control_.get_executor());
    return *checker_;
  }

  asio::io_context control_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  EndpointRegistry registry_;
  std::unique_ptr<HealthChecker> checker_;
};

TEST_F(TlsHealthCheckerTest, HealthPathAnswering503OverTlsEjectsAnOpenPort) {
  TlsHealthServer server(pki().server);
  auto svc = https_service("hc-tls-503", server.port());
  auto tls =
      std::make_shared<FixedTlsClients>(client_settings(&pki().ca, true, nullptr, "localhost"));
  checker().update({svc}, tls);
  ASSERT_TRUE(eventually([&] { return server.answered() >= 2; }, 10s));
  EXPECT_TRUE(svc->endpoints()[0]->healthy());

  server.set_status(503);
  ASSERT_TRUE(eventually([&] { return !svc->endpoints()[0]->healthy(); }, 10s));
  server.set_status(200);
  ASSERT_TRUE(eventually([&] { return svc->endpoints()[0]->healthy(); }, 10s));
}

TEST_F(TlsHealthCheckerTest, CertificateFromAnotherCaMakesItUnhealthy) {
  TlsHealthServer server(pki().stranger);
  auto svc = https_service("hc-tls-untrusted", server.port());
  auto tls =
      std::make_shared<FixedTlsClients>(client_settings(&pki().ca, true, nullptr, "localhost"));
  checker().update({svc}, tls);
  ASSERT_TRUE(eventually([&] { return !svc->endpoints()[0]->healthy(); }, 10s));
  // The TCP port accepted the probes; only the handshake failed.
  EXPECT_GE(server.connections(), 2U);
  EXPECT_EQ(server.answered(), 0U);
}

TEST_F(TlsHealthCheckerTest, WithoutClientSettingsAnHttpsEndpointIsNotPassedOnAConnect) {
  TlsHealthServer server(pki().server);
  auto svc = https_service("hc-tls-none", server.port());
  checker().update({svc});
  ASSERT_TRUE(eventually([&] { return !svc->endpoints()[0]->healthy(); }, 10s));
}

}  // namespace
}  // namespace gatewayd::upstream
