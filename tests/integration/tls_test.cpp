// End-to-end TLS tests of the real gatewayd binary: TLS termination with certificates made at
// test time by the openssl CLI, protocol and cipher floor, client certificates, certificate
// reload on SIGHUP, the HTTP->HTTPS redirect listener, WebSocket over TLS, and https://
// upstreams (a small TLS echo server in this file) with CA and host name verification, SNI,
// pooling and mTLS, their active health checks over TLS, `--verify` of them, and TLS session
// resumption towards them.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/free_port.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::test {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// ------------------------------------------------------------------------ PKI (openssl CLI)

class Pki {
 public:
  Pki() {
    dir_.write_file("req.cnf",
                    "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
                    "[v3_ca]\nbasicConstraints = critical,CA:TRUE\n"
                    "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n");
    dir_.write_file("server.ext",
                    "basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n"
                    "subjectAltName = DNS:localhost,IP:127.0.0.1\n");
    // The upstream's certificate names only "localhost": connecting to 127.0.0.1 without a
    // server name must fail host verification.
    dir_.write_file("upstream.ext",
                    "basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n"
                    "subjectAltName = DNS:localhost\n");
    dir_.write_file("client.ext", "basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n");
    make_ca("ca", "gatewayd test CA");
    make_ca("other-ca", "some other CA");
    make_leaf("ca", "gateway-a", "gateway-a", "server.ext");
    make_leaf("ca", "gateway-b", "gateway-b", "server.ext");
    make_leaf("ca", "upstream", "upstream", "upstream.ext");
    make_leaf("ca", "client", "test-client", "client.ext");
    make_leaf("other-ca", "stranger", "stranger", "client.ext");
  }

  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }
  const TempDir& dir() const { return dir_; }

 private:
  void openssl(std::vector<std::string> args) {
    ProcessOptions o;
    o.argv = {"openssl"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.working_dir = dir_.path();
    o.stdout_path = dir_.path() / "openssl.log";
    o.stderr_path = dir_.path() / "openssl.log";
    auto p = Process::spawn(o);
    const auto status = p.wait_for(std::chrono::seconds(60));
    if (!status || !status->success()) {
      throw std::runtime_error("openssl " + args[0] +
                               " failed: " + read_whole_file(dir_.path() / "openssl.log"));
    }
  }
  void make_ca(const std::string& name, const std::string& cn) {
    openssl({"req", "-x509", "-config", "req.cnf", "-extensions", "v3_ca", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key", "-out",
             name + ".crt", "-days", "2", "-subj", "/CN=" + cn});
  }
  void make_leaf(const std::string& ca, const std::string& name, const std::string& cn,
                 const std::string& ext) {
    openssl({"req", "-new", "-config", "req.cnf", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key", "-out",
             name + ".csr", "-subj", "/CN=" + cn});
    openssl({"x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", name + ".crt"});
  }

  TempDir dir_{"gatewayd-tls-pki"};
};

const Pki& pki() {
  static const Pki instance;
  return instance;
}

// ------------------------------------------------------------------------ TLS client

struct ClientTls {
  std::string ca_file;  // trust; empty: the test CA
  std::string cert_file, key_file;
  int min_version = 0, max_version = 0;
  std::string ciphers;  // TLS 1.2 cipher list; empty: OpenSSL's default
  bool legacy = false;  // security level 0, so the client may offer TLS 1.1 at all
  std::string sni = "localhost";
};

std::string common_name(X509* cert) {
  if (cert == nullptr) return {};
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

// One TLS connection to the gateway; several requests on it (keep-alive).
class TlsConnection {
 public:
  TlsConnection(std::uint16_t port, const ClientTls& o = {})
      : ctx_(ssl::context::tls_client), stream_(io_, make_context(o)) {
    SSL* ssl = stream_.native_handle();
    if (!o.sni.empty()) SSL_set_tlsext_host_name(ssl, o.sni.c_str());
    auto& tcp_layer = beast::get_lowest_layer(stream_);
    tcp_layer.expires_after(std::chrono::seconds(10));
    error_code ec;
    tcp_layer.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                            [&](error_code e) { ec = e; });
    run();
    if (!ec) {
      stream_.async_handshake(ssl::stream_base::client, [&](error_code e) { ec = e; });
      run();
    }
    if (ec) error_ = ec.message();
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string peer_cn() {
    X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
    std::string cn = common_name(cert);
    X509_free(cert);
    return cn;
  }
  std::string version() { return SSL_get_version(stream_.native_handle()); }
  std::string cipher() { return SSL_get_cipher_name(stream_.native_handle()); }
  std::string alpn() {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
  }

  HttpResponse request(const HttpRequestSpec& spec) {
    HttpResponse out;
    http::request<http::string_body> req{http::string_to_verb(spec.method), spec.target, 11};
    req.set(http::field::host, "localhost");
    for (const auto& [k, v] : spec.headers) req.set(k, v);
    req.body() = spec.body;
    req.prepare_payload();
    auto& tcp_layer = beast::get_lowest_layer(stream_);
    tcp_layer.expires_after(spec.timeout);
    error_code ec;
    http::async_write(stream_, req, [&](error_code e, std::size_t) { ec = e; });
    run();
    if (ec) {
      out.error = ec.message();
      return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::async_read(stream_, buffer_, parser, [&](error_code e, std::size_t) { ec = e; });
    run();
    if (ec) {
      out.error = ec.message();
      return out;
    }
    const auto& res = parser.get();
    out.status = res.result_int();
    out.body = res.body();
    out.keep_alive = res.keep_alive();
    for (const auto& f : res) out.headers.emplace_back(f.name_string(), f.value());
    return out;
  }
  HttpResponse get(const std::string& target) {
    HttpRequestSpec spec;
    spec.target = target;
    return request(spec);
  }

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

 private:
  ssl::context& make_context(const ClientTls& o) {
    SSL_CTX* c = ctx_.native_handle();
    ctx_.set_verify_mode(ssl::verify_peer);
    ctx_.load_verify_file(o.ca_file.empty() ? pki().path("ca.crt") : o.ca_file);
    if (!o.cert_file.empty()) {
      ctx_.use_certificate_chain_file(o.cert_file);
      ctx_.use_private_key_file(o.key_file, ssl::context::pem);
    }
    if (o.legacy) SSL_CTX_set_security_level(c, 0);
    if (o.min_version != 0) SSL_CTX_set_min_proto_version(c, o.min_version);
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(c, o.max_version);
    if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(c, o.ciphers.c_str());
    static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(c, kAlpn, sizeof kAlpn);
    return ctx_;
  }
  void run() {
    io_.restart();
    io_.run();
  }

  asio::io_context io_;
  ssl::context ctx_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::string error_;
};

HttpResponse https_get(std::uint16_t port, const std::string& target, const ClientTls& o = {}) {
  TlsConnection c(port, o);
  if (!c.ok()) {
    HttpResponse r;
    r.error = "handshake: " + c.error();
    return r;
  }
  return c.get(target);
}

// ------------------------------------------------------------------------ TLS upstream

// An HTTPS echo server on a free loopback port: answers every request with JSON naming the
// path, method, body, the SNI it received, the client certificate's CN and the connection
// number; `/healthz` answers the status set with set_health_status(). With a client CA, client
// certificates are required. `max_version` caps the protocol (TLS1_2_VERSION: TLS 1.2 only).
class TlsEchoServer {
 public:
  TlsEchoServer(const std::string& cert, const std::string& key, const std::string& client_ca = {},
                int max_version = 0)
      : ctx_(ssl::context::tls_server), acceptor_(io_) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, ssl::context::pem);
    if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_version);
    // Needed for resuming sessions when client certificates are verified.
    static constexpr unsigned char kSessionContext[] = "gatewayd-tls-test";
    SSL_CTX_set_session_id_context(ctx_.native_handle(), kSessionContext,
                                   sizeof kSessionContext - 1);
    if (!client_ca.empty()) {
      ctx_.load_verify_file(client_ca);
      ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsEchoServer() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  unsigned handshakes() const { return handshakes_.load(); }
  // Handshakes that resumed an earlier session (SSL_session_reused on this side).
  unsigned resumed() const { return resumed_.load(); }
  unsigned health_requests() const { return health_requests_.load(); }
  void set_health_status(unsigned status) { health_status_ = status; }
  // Answers with "Connection: close" and closes: every request then needs a new connection.
  void set_close_after_response(bool close) { close_after_response_ = close; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), [](std::exception_ptr) {});
    }
  }
  asio::awaitable<void> serve(tcp::socket socket) {
    constexpr auto use = asio::as_tuple(asio::use_awaitable);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ctx_);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use);
    if (hec) co_return;
    if (SSL_session_reused(stream.native_handle()) == 1) ++resumed_;
    const unsigned id = ++handshakes_;
    X509* peer = SSL_get1_peer_certificate(stream.native_handle());
    const std::string client_cn = common_name(peer);
    X509_free(peer);
    const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    beast::flat_buffer buffer;
    for (;;) {
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
      http::request<http::string_body> req;
      auto [rec, n] = co_await http::async_read(stream, buffer, req, use);
      if (rec) co_return;
      const bool keep_alive = req.keep_alive() && !close_after_response_;
      if (req.target() == "/healthz") {
        ++health_requests_;
        http::response<http::string_body> res{static_cast<http::status>(health_status_.load()), 11};
        res.body() = "health";
        res.keep_alive(keep_alive);
        res.prepare_payload();
        auto [wec, w] = co_await http::async_write(stream, res, use);
        if (wec || !keep_alive) co_return;
        continue;
      }
      json body = {{"path", std::string(req.target())},
                   {"method", std::string(req.method_string())},
                   {"body", req.body()},
                   {"forwarded_proto", std::string(req["X-Forwarded-Proto"])},
                   {"sni", sni != nullptr ? sni : ""},
                   {"client_cn", client_cn},
                   {"connection", id}};
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = body.dump();
      res.keep_alive(keep_alive);
      res.prepare_payload();
      auto [wec, w] = co_await http::async_write(stream, res, use);
      if (wec || !keep_alive) co_return;
    }
  }

  asio::io_context io_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<unsigned> handshakes_{0};
  std::atomic<unsigned> resumed_{0};
  std::atomic<unsigned> health_requests_{0};
  std::atomic<unsigned> health_status_{200};
  std::atomic<bool> close_after_response_{false};
  std::thread thread_;
};

// ------------------------------------------------------------------------ gateway helpers

const char* kRoutes = R"(routes:
  - path: /demo/**
    service: demo
    methods: [GET, POST]
    auth_required: false
    strip_prefix: true
    timeout: 5
)";

std::string demo_services(const DemoUpstream& demo, const std::string& extra = "") {
  return "services:\n  demo:\n    instances:\n      - url: " + demo.url() + "\n" + extra;
}

std::map<std::string, std::string> tls_env(const std::string& leaf = "gateway-a") {
  return {{"TLS_CERT_FILE", pki().path(leaf + ".crt")},
          {"TLS_KEY_FILE", pki().path(leaf + ".key")}};
}

// Starts a TLS gateway and waits until /health answers over TLS.
std::unique_ptr<GatewayProcess> start_tls_gateway(std::string routes, std::string services,
                                                  std::map<std::string, std::string> env,
                                                  const ClientTls& probe = {}) {
  auto gw = std::make_unique<GatewayProcess>(
      GatewayOptions{std::move(routes), std::move(services), std::move(env), 1, false});
  const bool up = eventually(
      [&] {
        if (!gw->process().running()) return true;
        return https_get(gw->port(), "/health", probe).status == 200;
      },
      std::chrono::seconds(30));
  if (!up || !gw->process().running()) {
    throw std::runtime_error("TLS gateway did not become healthy: " + gw->output());
  }
  return gw;
}

std::string app_log(const GatewayProcess& gw) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(gw.dir().path() / "logs")) {
    out += read_whole_file(entry.path());
  }
  return out + gw.output();
}

double handshake_failures(const GatewayProcess& gw) {
  const auto res = https_get(gw.port(), "/metrics");
  const std::string key = "gatewayd_tls_handshakes_total{result=\"failure\"} ";
  const auto pos = res.body.find(key);
  if (pos == std::string::npos) return 0;
  return std::stod(res.body.substr(pos + key.size()));
}

// ------------------------------------------------------------------------ listener

class TlsListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = tls_env();
    redirect_port = free_port();
    env["HTTP_REDIRECT_PORT"] = std::to_string(redirect_port);
    gateway = start_tls_gateway(kRoutes, demo_services(demo), env);
  }
  DemoUpstream demo{"demo"};
  std::uint16_t redirect_port = 0;
  std::unique_ptr<GatewayProcess> gateway;
};

TEST_F(TlsListenerTest, ServesGetAndPostOverTls13WithAlpn) {
  TlsConnection c(gateway->port());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.version(), "TLSv1.3");
  EXPECT_EQ(c.alpn(), "http/1.1");
  EXPECT_EQ(c.peer_cn(), "gateway-a");

  const auto got = c.get("/demo/echo/x?q=1");
  ASSERT_EQ(got.status, 200u) << got.error << got.body;
  const auto j = json::parse(got.body);
  EXPECT_EQ(j["target"], "/echo/x?q=1");
  std::string proto;
  for (const auto& h : j["headers"]) {
    if (h[0] == "X-Forwarded-Proto") proto = h[1];
  }
  EXPECT_EQ(proto, "https");

  HttpRequestSpec post;
  post.method = "POST";
  post.target = "/demo/echo";
  post.body = std::string(100'000, 'x') + "end";
  const auto posted = c.request(post);  // same connection: keep-alive over TLS
  ASSERT_EQ(posted.status, 200u) << posted.error;
  EXPECT_EQ(json::parse(posted.body)["body_size"], post.body.size());
  EXPECT_EQ(json::parse(posted.body)["method"], "POST");
}

TEST_F(TlsListenerTest, Tls12UsesEcdheAead) {
  ClientTls o;
  o.max_version = TLS1_2_VERSION;
  TlsConnection c(gateway->port(), o);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.version(), "TLSv1.2");
  const auto cipher = c.cipher();
  EXPECT_EQ(cipher.rfind("ECDHE-", 0), 0u) << cipher;
  EXPECT_TRUE(cipher.find("GCM") != std::string::npos ||
              cipher.find("CHACHA20") != std::string::npos)
      << cipher;
  EXPECT_EQ(c.get("/demo/hello").status, 200u);
}

TEST_F(TlsListenerTest, RefusesTls11AndCbcCiphers) {
  const double before = handshake_failures(*gateway);
  ClientTls old;
  old.min_version = TLS1_1_VERSION;
  old.max_version = TLS1_1_VERSION;
  old.legacy = true;
  old.ciphers = "DEFAULT:@SECLEVEL=0";
  TlsConnection c11(gateway->port(), old);
  EXPECT_FALSE(c11.ok());
  EXPECT_EQ(c11.error().find("no protocols available"), std::string::npos)
      << "the client did not even offer TLS 1.1: " << c11.error();

  ClientTls cbc;
  cbc.max_version = TLS1_2_VERSION;
  cbc.ciphers = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA";
  TlsConnection c12(gateway->port(), cbc);
  EXPECT_FALSE(c12.ok());

  // The gateway saw (and refused) both handshakes.
  EXPECT_TRUE(eventually([&] { return handshake_failures(*gateway) >= before + 2; }))
      << handshake_failures(*gateway) << " failures, " << before << " before";
}

TEST_F(TlsListenerTest, PlainHttpOnTheTlsPortIsNotServed) {
  const auto res = http_get(gateway->port(), "/demo/hello");
  EXPECT_NE(res.status, 200u);
}

TEST_F(TlsListenerTest, RedirectListenerAnswers308ToHttps) {
  const auto res = http_get(redirect_port, "/demo/echo?x=1&y=2");
  EXPECT_EQ(res.status, 308u) << res.error;
  EXPECT_EQ(res.header("Location"),
            "https://127.0.0.1:" + std::to_string(gateway->port()) + "/demo/echo?x=1&y=2");
  // A POST keeps its method through a 308; the Host names the redirect's host.
  const auto posted = raw_exchange(redirect_port,
                                   "POST /demo/echo HTTP/1.1\r\nHost: api.example.com:80\r\n"
                                   "Content-Length: 4\r\n\r\ndata");
  EXPECT_EQ(posted.rfind("HTTP/1.1 308 ", 0), 0u) << posted;
  EXPECT_NE(posted.find("Location: https://api.example.com:" + std::to_string(gateway->port()) +
                        "/demo/echo\r\n"),
            std::string::npos)
      << posted;
  const auto bad = raw_exchange(redirect_port, "GET / HTTP/1.1\r\nHost: evil.example/x\r\n\r\n");
  EXPECT_EQ(bad.rfind("HTTP/1.1 400 ", 0), 0u) << bad;
}

TEST_F(TlsListenerTest, WebSocketOverTls) {
  namespace websocket = beast::websocket;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(pki().path("ca.crt"));
  ctx.set_verify_mode(ssl::verify_peer);
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(io, ctx);
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(ws).connect({asio::ip::make_address("127.0.0.1"), gateway->port()});
  SSL_set_tlsext_host_name(ws.next_layer().native_handle(), "localhost");
  ws.next_layer().handshake(ssl::stream_base::client);
  ws.handshake("localhost", "/demo/ws");
  for (int i = 0; i < 3; ++i) {
    const std::string msg = "ping over tls " + std::to_string(i);
    ws.write(asio::buffer(msg));
    beast::flat_buffer buf;
    ws.read(buf);
    EXPECT_EQ(beast::buffers_to_string(buf.data()), msg);
  }
  ws.close(websocket::close_code::normal);
}

TEST(TlsReload, SighupServesNewCertificateAndKeepsOpenConnections) {
  DemoUpstream demo{"demo"};
  TempDir certs{"gatewayd-tls-reload"};
  const auto cert = certs.path() / "server.crt";
  const auto key = certs.path() / "server.key";
  std::filesystem::copy_file(pki().path("gateway-a.crt"), cert);
  std::filesystem::copy_file(pki().path("gateway-a.key"), key);
  auto gateway =
      start_tls_gateway(kRoutes, demo_services(demo),
                        {{"TLS_CERT_FILE", cert.string()}, {"TLS_KEY_FILE", key.string()}});

  TlsConnection open(gateway->port());
  ASSERT_TRUE(open.ok()) << open.error();
  ASSERT_EQ(open.peer_cn(), "gateway-a");
  ASSERT_EQ(open.get("/demo/hello").status, 200u);

  // Replace both files (rename, as certificate tools do) and signal.
  const auto replace = [&](const std::filesystem::path& from, const std::filesystem::path& to) {
    const auto tmp = to.string() + ".new";
    std::filesystem::copy_file(from, tmp, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(tmp, to);
  };
  replace(pki().path("gateway-b.crt"), cert);
  replace(pki().path("gateway-b.key"), key);
  ASSERT_TRUE(gateway->process().signal(SIGHUP));
  EXPECT_TRUE(eventually([&] {
    TlsConnection fresh(gateway->port());
    return fresh.ok() && fresh.peer_cn() == "gateway-b" && fresh.get("/demo/hello").status == 200;
  }));

  // The connection opened before the reload still works, with its original certificate.
  const auto again = open.get("/demo/echo");
  EXPECT_EQ(again.status, 200u) << again.error;
  EXPECT_EQ(open.peer_cn(), "gateway-a");

  // A broken file on the next SIGHUP is refused; the current certificate keeps serving.
  std::filesystem::remove(cert);
  certs.write_file("server.crt", "not a certificate\n");
  ASSERT_TRUE(gateway->process().signal(SIGHUP));
  EXPECT_TRUE(eventually([&] {
    return app_log(*gateway).find("TLS certificate reload rejected") != std::string::npos;
  })) << app_log(*gateway);
  TlsConnection after(gateway->port());
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_EQ(after.peer_cn(), "gateway-b");
  EXPECT_EQ(open.get("/demo/hello").status, 200u);
}

TEST(TlsClientAuth, RequiredRefusesClientsWithoutAValidCertificate) {
  DemoUpstream demo{"demo"};
  auto env = tls_env();
  env["TLS_CLIENT_VERIFY"] = "required";
  env["TLS_CLIENT_CA_FILE"] = pki().path("ca.crt");
  ClientTls with_cert;
  with_cert.cert_file = pki().path("client.crt");
  with_cert.key_file = pki().path("client.key");
  auto gateway = start_tls_gateway(kRoutes, demo_services(demo), env, with_cert);

  const auto ok = https_get(gateway->port(), "/demo/hello", with_cert);
  EXPECT_EQ(ok.status, 200u) << ok.error;

  // No certificate: with TLS 1.3 the client's handshake may complete before the server's
  // verdict arrives, so the refusal shows as no HTTP answer at all.
  const auto without = https_get(gateway->port(), "/demo/hello");
  EXPECT_EQ(without.status, 0u) << without.body;

  ClientTls stranger;
  stranger.cert_file = pki().path("stranger.crt");
  stranger.key_file = pki().path("stranger.key");
  const auto foreign = https_get(gateway->port(), "/demo/hello", stranger);
  EXPECT_EQ(foreign.status, 0u) << foreign.body;
}

TEST(TlsClientAuth, OptionalAcceptsClientsWithAndWithoutCertificate) {
  DemoUpstream demo{"demo"};
  auto env = tls_env();
  env["TLS_CLIENT_VERIFY"] = "optional";
  env["TLS_CLIENT_CA_FILE"] = pki().path("ca.crt");
  auto gateway = start_tls_gateway(kRoutes, demo_services(demo), env);
  EXPECT_EQ(https_get(gateway->port(), "/demo/hello").status, 200u);
  ClientTls with_cert;
  with_cert.cert_file = pki().path("client.crt");
  with_cert.key_file = pki().path("client.key");
  EXPECT_EQ(https_get(gateway->port(), "/demo/hello", with_cert).status, 200u);
  ClientTls stranger;
  stranger.cert_file = pki().path("stranger.crt");
  stranger.key_file = pki().path("stranger.key");
  EXPECT_EQ(https_get(gateway->port(), "/demo/hello", stranger).status, 0u);
}

TEST(TlsStartup, UnusableCertificateOrKeyStopsStartupAndCheckConfig) {
  DemoUpstream demo{"demo"};
  TempDir bad{"gatewayd-tls-bad"};
  const auto garbage = bad.write_file("garbage.pem", "-----BEGIN CERTIFICATE-----\nxx\n");
  struct Case {
    std::map<std::string, std::string> env;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{{"TLS_CERT_FILE", garbage.string()}, {"TLS_KEY_FILE", pki().path("gateway-a.key")}},
       "TLS_CERT_FILE '" + garbage.string() + "': not a usable PEM certificate chain"},
      {{{"TLS_CERT_FILE", (bad.path() / "missing.crt").string()},
        {"TLS_KEY_FILE", pki().path("gateway-a.key")}},
       "cannot read: No such file or directory"},
      {{{"TLS_CERT_FILE", pki().path("gateway-a.crt")},
        {"TLS_KEY_FILE", pki().path("gateway-b.key")}},
       "does not match the certificate in TLS_CERT_FILE"},
  };
  for (const auto& c : cases) {
    GatewayProcess gw({kRoutes, demo_services(demo), c.env, 1, false});
    const auto status = gw.process().wait_for(std::chrono::seconds(30));
    ASSERT_TRUE(status.has_value()) << "gatewayd kept running with " << c.expected;
    EXPECT_FALSE(status->success());
    EXPECT_NE(gw.output().find(c.expected), std::string::npos) << gw.output();

    ProcessOptions o;
    o.argv = {gatewayd_binary(), "--check-config", "--config-dir",
              (gw.dir().path() / "config").string()};
    o.working_dir = gw.dir().path();
    o.stdout_path = gw.dir().path() / "check.log";
    o.stderr_path = gw.dir().path() / "check.log";
    for (const auto& [k, v] : c.env) o.env.push_back(k + "=" + v);
    auto check = Process::spawn(o);
    const auto check_status = check.wait_for(std::chrono::seconds(30));
    ASSERT_TRUE(check_status.has_value());
    EXPECT_EQ(check_status->code, 1);
    const auto text = read_whole_file(gw.dir().path() / "check.log");
    EXPECT_NE(text.find(c.expected), std::string::npos) << text;
  }
}

// ------------------------------------------------------------------------ https upstreams

class TlsUpstreamTest : public ::testing::Test {
 protected:
  TlsUpstreamTest()
      : echo(pki().path("upstream.crt"), pki().path("upstream.key")),
        mtls_echo(pki().path("upstream.crt"), pki().path("upstream.key"), pki().path("ca.crt")) {}

  void start(const std::map<std::string, std::string>& extra_env = {}) {
    const std::string up = "https://127.0.0.1:" + std::to_string(echo.port());
    const std::string mtls = "https://127.0.0.1:" + std::to_string(mtls_echo.port());
    const std::string ca = pki().path("ca.crt");
    std::string routes = "routes:\n";
    for (const char* name :
         {"secure", "global-ca", "wrong-name", "no-verify", "untrusted", "mtls", "mtls-no-cert"}) {
      routes += std::string("  - path: /") + name + "/**\n    service: " + name +
                "\n    methods: [GET, POST]\n    auth_required: false\n    strip_prefix: true\n"
                "    timeout: 5\n";
    }
    const std::string services =
        "services:\n"
        "  secure:\n    tls_ca_file: " +
        ca +
        "\n    tls_server_name: localhost\n"
        "    instances:\n      - url: " +
        up +
        "\n"
        "  global-ca:\n    tls_server_name: localhost\n"
        "    instances:\n      - url: " +
        up +
        "\n"
        "  wrong-name:\n    tls_ca_file: " +
        ca +
        "\n"
        "    instances:\n      - url: " +
        up +
        "\n"
        "  no-verify:\n    tls_verify: false\n"
        "    instances:\n      - url: " +
        up +
        "\n"
        "  untrusted:\n    tls_ca_file: " +
        pki().path("other-ca.crt") +
        "\n    tls_server_name: localhost\n"
        "    instances:\n      - url: " +
        up +
        "\n"
        "  mtls:\n    tls_ca_file: " +
        ca +
        "\n    tls_server_name: localhost\n"
        "    tls_cert_file: " +
        pki().path("client.crt") +
        "\n"
        "    tls_key_file: " +
        pki().path("client.key") +
        "\n"
        "    instances:\n      - url: " +
        mtls +
        "\n"
        "  mtls-no-cert:\n    tls_ca_file: " +
        ca +
        "\n    tls_server_name: localhost\n"
        "    instances:\n      - url: " +
        mtls + "\n";
    std::map<std::string, std::string> env{{"UPSTREAM_CA_FILE", ca}};
    for (const auto& [k, v] : extra_env) env[k] = v;
    if (env.count("TLS_CERT_FILE") != 0) {
      gateway = start_tls_gateway(routes, services, env);
    } else {
      gateway = std::make_unique<GatewayProcess>(GatewayOptions{routes, services, env, 1, true});
    }
  }

  TlsEchoServer echo;
  TlsEchoServer mtls_echo;
  std::unique_ptr<GatewayProcess> gateway;
};

void expect_bad_gateway(const HttpResponse& res) {
  EXPECT_EQ(res.status, 502u) << res.error << res.body;
  const auto j = json::parse(res.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << res.body;
  EXPECT_EQ(j["error"]["code"], "BAD_GATEWAY");
  EXPECT_FALSE(j["request_id"].get<std::string>().empty());
}

TEST_F(TlsUpstreamTest, VerifiedByCaWithSniAndPooledConnections) {
  start();
  const unsigned before = echo.handshakes();
  HttpConnection client(gateway->port());
  for (int i = 0; i < 3; ++i) {
    HttpRequestSpec spec;
    spec.method = i == 1 ? "POST" : "GET";
    spec.target = "/secure/item/" + std::to_string(i);
    spec.body = i == 1 ? "payload" : "";
    const auto res = client.request(spec);
    ASSERT_EQ(res.status, 200u) << res.error << res.body;
    const auto j = json::parse(res.body);
    EXPECT_EQ(j["path"], "/item/" + std::to_string(i));
    EXPECT_EQ(j["method"], spec.method);
    EXPECT_EQ(j["body"], spec.body);
    EXPECT_EQ(j["sni"], "localhost");
    EXPECT_EQ(j["forwarded_proto"], "http");
    EXPECT_EQ(j["client_cn"], "");
  }
  // One TLS connection served all three requests (pooled per worker).
  EXPECT_EQ(echo.handshakes() - before, 1u);

  // UPSTREAM_CA_FILE applies to services without their own CA.
  EXPECT_EQ(http_get(gateway->port(), "/global-ca/x").status, 200u);
}

TEST_F(TlsUpstreamTest, WrongHostNameAndUntrustedCaAreBadGateway) {
  start();
  // 127.0.0.1 is not a name in the upstream's certificate.
  expect_bad_gateway(http_get(gateway->port(), "/wrong-name/x"));
  expect_bad_gateway(http_get(gateway->port(), "/untrusted/x"));
  EXPECT_TRUE(eventually([&] {
    return app_log(*gateway).find("certificate verification failed") != std::string::npos;
  }));
}

TEST_F(TlsUpstreamTest, VerificationOffOnlyWhenTheServiceSaysSoAndWarned) {
  start();
  EXPECT_EQ(http_get(gateway->port(), "/no-verify/x").status, 200u);
  EXPECT_TRUE(eventually([&] {
    return app_log(*gateway).find("service no-verify: tls_verify is false") != std::string::npos;
  })) << app_log(*gateway);
}

TEST_F(TlsUpstreamTest, ClientCertificateForMutualTls) {
  start();
  const auto res = http_get(gateway->port(), "/mtls/x");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json::parse(res.body)["client_cn"], "test-client");
  expect_bad_gateway(http_get(gateway->port(), "/mtls-no-cert/x"));
}

TEST_F(TlsUpstreamTest, HttpsEndToEnd) {
  // TLS on both sides: the gateway terminates the client's TLS and opens its own upstream.
  start(tls_env());
  const auto res = https_get(gateway->port(), "/secure/both");
  ASSERT_EQ(res.status, 200u) << res.error << res.body;
  EXPECT_EQ(json::parse(res.body)["forwarded_proto"], "https");
}

// ------------------------------------------------------------------------ https health checks

// The value of one series (`name{labels}` exactly as rendered, labels sorted by name) in a
// plain gateway's /metrics; -1 when it is absent.
double series_value(const GatewayProcess& gw, const std::string& series) {
  const auto res = http_get(gw.port(), "/metrics");
  const auto pos = res.body.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(res.body.substr(pos + series.size() + 2));
}

std::string endpoint_healthy(const std::string& service, std::uint16_t port) {
  return "gatewayd_endpoint_healthy{endpoint=\"127.0.0.1:" + std::to_string(port) +
         "\",service=\"" + service + "\"}";
}

// One https service on `url` with a fast active health check of /healthz.
std::string checked_service(const std::string& name, const std::string& url,
                            const std::string& ca_file) {
  return "  " + name + ":\n    tls_ca_file: " + ca_file +
         "\n    tls_server_name: localhost\n"
         "    health_check:\n      path: /healthz\n      interval: 0.25\n      timeout: 0.25\n"
         "      healthy_threshold: 1\n      unhealthy_threshold: 2\n"
         "    instances:\n      - url: " +
         url + "\n";
}

std::string routes_for(const std::vector<std::string>& services) {
  std::string routes = "routes:\n";
  for (const auto& name : services) {
    routes += "  - path: /" + name + "/**\n    service: " + name +
              "\n    methods: [GET]\n    auth_required: false\n    strip_prefix: true\n"
              "    timeout: 5\n";
  }
  return routes;
}

struct VerifyRun {
  int code = -1;
  std::string output;
};

// `gatewayd --verify` with the gateway's config files and the settings these tests use.
VerifyRun run_verify(const GatewayProcess& gw, const std::map<std::string, std::string>& env) {
  ProcessOptions o;
  o.argv = {gatewayd_binary(), "--verify", "--config-dir", (gw.dir().path() / "config").string()};
  o.working_dir = gw.dir().path();
  o.stdout_path = gw.dir().path() / "verify.log";
  o.stderr_path = o.stdout_path;
  std::map<std::string, std::string> all{{"LOG_DIRECTORY", (gw.dir().path() / "logs").string()},
                                         {"DATA_DIRECTORY", (gw.dir().path() / "data").string()},
                                         {"MYSQL_ENABLED", "false"},
                                         {"REDIS_ENABLED", "false"},
                                         {"TRACING_ENABLED", "false"},
                                         {"SERVICE_DISCOVERY_TYPE", "static"}};
  for (const auto& [k, v] : env) all[k] = v;
  for (const auto& [k, v] : all) o.env.push_back(k + "=" + v);
  auto p = Process::spawn(o);
  auto status = p.wait_for(std::chrono::seconds(60));
  if (!status) status = p.kill();
  return VerifyRun{status->code, read_whole_file(gw.dir().path() / "verify.log")};
}

// The row of the verify table whose check starts with `check`.
std::string verify_row(const std::string& output, const std::string& check) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(check, 0) == 0) return line;
  }
  return {};
}

TEST(TlsUpstreamHealth, HealthEndpointFailingOverTlsIsEjectedWhileItsPortIsOpen) {
  TlsEchoServer echo(pki().path("upstream.crt"), pki().path("upstream.key"));
  echo.set_health_status(503);
  const std::string services =
      "services:\n" + checked_service("checked", echo.url(), pki().path("ca.crt"));
  GatewayProcess gateway({routes_for({"checked"}), services, {}, 1, true});
  const auto healthy = endpoint_healthy("checked", echo.port());

  // Each probe is a full TLS handshake and a GET of /healthz: the 503 makes it unhealthy
  // although the port accepts connections.
  EXPECT_TRUE(eventually([&] { return series_value(gateway, healthy) == 0; }))
      << series_value(gateway, healthy) << "\n"
      << app_log(gateway);
  EXPECT_GE(echo.health_requests(), 2U);
  const auto refused = http_get(gateway.port(), "/checked/x");
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_NE(refused.body.find("UPSTREAM_UNAVAILABLE"), std::string::npos) << refused.body;
  EXPECT_TRUE(eventually([&] {
    return app_log(gateway).find("checked/127.0.0.1:" + std::to_string(echo.port()) +
                                 " is unhealthy") != std::string::npos;
  }));

  echo.set_health_status(200);
  EXPECT_TRUE(eventually([&] { return series_value(gateway, healthy) == 1; }));
  EXPECT_EQ(http_get(gateway.port(), "/checked/x").status, 200u);
}

TEST(TlsUpstreamHealth, CertificateFromAnotherCaIsUnhealthyAndFailsVerify) {
  TlsEchoServer good(pki().path("upstream.crt"), pki().path("upstream.key"));
  // The upstream's certificate is signed by the test CA; this service trusts another one.
  TlsEchoServer bad(pki().path("upstream.crt"), pki().path("upstream.key"));
  const std::string services = "services:\n" +
                               checked_service("trusted", good.url(), pki().path("ca.crt")) +
                               checked_service("untrusted", bad.url(), pki().path("other-ca.crt"));
  GatewayProcess gateway({routes_for({"trusted", "untrusted"}), services, {}, 1, true});

  EXPECT_TRUE(eventually([&] {
    return series_value(gateway, endpoint_healthy("untrusted", bad.port())) == 0;
  })) << app_log(gateway);
  EXPECT_EQ(series_value(gateway, endpoint_healthy("trusted", good.port())), 1);
  // The reason is logged; the port was open, only the handshake failed.
  EXPECT_TRUE(eventually([&] {
    const auto log = app_log(gateway);
    return log.find("health check: untrusted/127.0.0.1:" + std::to_string(bad.port()) +
                    ": TLS handshake with localhost failed: certificate verification failed") !=
           std::string::npos;
  })) << app_log(gateway);
  EXPECT_EQ(bad.handshakes(), 0U);
  EXPECT_EQ(bad.health_requests(), 0U);
  EXPECT_GE(good.health_requests(), 1U);

  const auto verify = run_verify(gateway, {});
  EXPECT_EQ(verify.code, 1) << verify.output;
  const auto bad_row = verify_row(verify.output, "upstream untrusted ");
  EXPECT_NE(bad_row.find("FAIL"), std::string::npos) << verify.output;
  EXPECT_NE(bad_row.find("certificate verification failed"), std::string::npos) << bad_row;
  EXPECT_NE(bad_row.find("hint: the certificate is not signed by a trusted CA"), std::string::npos)
      << bad_row;
  const auto good_row = verify_row(verify.output, "upstream trusted ");
  EXPECT_NE(good_row.find("OK"), std::string::npos) << verify.output;
  EXPECT_NE(good_row.find("/healthz: HTTP 200 over TLS"), std::string::npos) << good_row;
}

TEST(TlsUpstreamHealth, VerifyReportsAFailingHealthPathAndAWrongHostName) {
  TlsEchoServer echo(pki().path("upstream.crt"), pki().path("upstream.key"));
  echo.set_health_status(503);
  // No tls_server_name: 127.0.0.1 is not in the upstream's certificate.
  const std::string services = "services:\n" +
                               checked_service("sick", echo.url(), pki().path("ca.crt")) +
                               "  misnamed:\n    tls_ca_file: " + pki().path("ca.crt") +
                               "\n    instances:\n      - url: " + echo.url() + "\n";
  GatewayProcess gateway({routes_for({"sick", "misnamed"}), services, {}, 1, true});
  const auto verify = run_verify(gateway, {});
  EXPECT_EQ(verify.code, 1) << verify.output;
  const auto sick = verify_row(verify.output, "upstream sick ");
  EXPECT_NE(sick.find("FAIL"), std::string::npos) << verify.output;
  EXPECT_NE(sick.find("HTTP 503 over TLS"), std::string::npos) << sick;
  const auto misnamed = verify_row(verify.output, "upstream misnamed ");
  EXPECT_NE(misnamed.find("FAIL"), std::string::npos) << verify.output;
  EXPECT_NE(misnamed.find("tls_server_name"), std::string::npos) << misnamed;
}

// ------------------------------------------------------------------------ session resumption

// services.yaml with one https service "secure" on `url`, trusting the test CA.
std::string secure_service(const std::string& url) {
  return "services:\n  secure:\n    tls_ca_file: " + pki().path("ca.crt") +
         "\n    tls_server_name: localhost\n    instances:\n      - url: " + url + "\n";
}

class TlsResumption : public ::testing::TestWithParam<int> {};

TEST_P(TlsResumption, NewConnectionsToAnHttpsUpstreamResumeTheSession) {
  TlsEchoServer echo(pki().path("upstream.crt"), pki().path("upstream.key"), {}, GetParam());
  // Every response closes its connection, so every request needs a new one.
  echo.set_close_after_response(true);
  const std::string services = secure_service(echo.url());
  GatewayProcess gateway({routes_for({"secure"}), services, {}, 1, true});
  for (int i = 0; i < 3; ++i) {
    const auto res = http_get(gateway.port(), "/secure/item");
    ASSERT_EQ(res.status, 200u) << res.error << res.body;
    // A TLS 1.2 server does not report the SNI of a resumed session: look at the first one.
    if (i == 0) {
      EXPECT_EQ(json::parse(res.body)["sni"], "localhost");
    }
  }
  // The first connection ran a full handshake; the next two resumed its session (the
  // upstream's own view and the gateway's counter agree).
  EXPECT_EQ(echo.handshakes(), 3U);
  EXPECT_EQ(echo.resumed(), 2U);
  EXPECT_EQ(series_value(gateway, "gatewayd_upstream_tls_handshakes_total{resumed=\"true\"}"), 2);
  EXPECT_EQ(series_value(gateway, "gatewayd_upstream_tls_handshakes_total{resumed=\"false\"}"), 1);
}

INSTANTIATE_TEST_SUITE_P(Versions, TlsResumption, ::testing::Values(0, TLS1_2_VERSION),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == 0 ? std::string("Tls13") : std::string("Tls12");
                         });

TEST(TlsResumptionReload, AReloadStartsWithAFullHandshake) {
  TlsEchoServer echo(pki().path("upstream.crt"), pki().path("upstream.key"));
  echo.set_close_after_response(true);
  const std::string services = secure_service(echo.url());
  GatewayProcess gateway({routes_for({"secure"}), services, {}, 1, true});
  ASSERT_EQ(http_get(gateway.port(), "/secure/a").status, 200u);
  ASSERT_EQ(http_get(gateway.port(), "/secure/b").status, 200u);
  ASSERT_EQ(echo.resumed(), 1U);
  // A reload builds new client contexts: sessions of the old ones are not offered.
  ASSERT_TRUE(gateway.process().signal(SIGHUP));
  EXPECT_TRUE(eventually([&] {
    return app_log(gateway).find("config reloaded (SIGHUP)") != std::string::npos;
  })) << app_log(gateway);
  const unsigned before = echo.handshakes();
  EXPECT_TRUE(eventually([&] {
    // The workers apply the snapshot between requests: one request may still resume.
    const auto before_resumed = echo.resumed();
    const auto res = http_get(gateway.port(), "/secure/c");
    return res.status == 200u && echo.resumed() == before_resumed;
  }));
  EXPECT_GT(echo.handshakes(), before);
}

}  // namespace
}  // namespace gatewayd::test
