// The blocking JWKS fetcher against real local servers: plain HTTP (FakeHttpServer), HTTPS with
// a certificate made for the test (trusted through ca_file, refused otherwise), error statuses,
// a server that never answers (deadline), oversized documents, and several URLs served as one
// set with last-good keys kept per URL. Also the whole path: JwksCache with this fetcher.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include "filters/auth/jwks_fetcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <set>
#include <thread>

#include "auth_fixtures.hpp"
#include "filters/auth/key_loader.hpp"
#include "support/fake_http_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd::auth {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using nlohmann::json;
using test::FakeHttpServer;
using test::FakeRequest;
using test::FakeResponse;

std::string jwks_doc() {
  return testing::read_fixture("jwks.json");
}

// Serves `body` with `status` on every path and remembers the last request.
struct JwksServer {
  explicit JwksServer(std::string body, unsigned status = 200)
      : server([this](FakeRequest req) -> asio::awaitable<FakeResponse> {
          {
            std::lock_guard lock(mu);
            last_target = req.target;
            last_host = req.header("Host");
          }
          FakeResponse r;
          std::lock_guard lock(mu);
          r.status = status_;
          r.body = body_;
          co_return r;
        }) {
    std::lock_guard lock(mu);
    body_ = std::move(body);
    status_ = status;
  }
  void set(std::string body, unsigned status = 200) {
    std::lock_guard lock(mu);
    body_ = std::move(body);
    status_ = status;
  }
  std::string url(std::string_view path = "/.well-known/jwks.json") const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
  }

  std::mutex mu;
  std::string body_;
  unsigned status_ = 200;
  std::string last_target, last_host;
  FakeHttpServer server;
};

TEST(JwksFetcherTest, FetchesOverHttp) {
  JwksServer srv(jwks_doc());
  HttpJwksFetcher fetcher(srv.url("/keys?tenant=a"));
  auto body = fetcher.fetch();
  ASSERT_TRUE(body.has_value()) << fetcher.last_error();
  EXPECT_EQ(*body, jwks_doc());
  EXPECT_TRUE(fetcher.last_error().empty());
  std::lock_guard lock(srv.mu);
  EXPECT_EQ(srv.last_target, "/keys?tenant=a");
  EXPECT_EQ(srv.last_host, "127.0.0.1:" + std::to_string(srv.server.port()));
}

TEST(JwksFetcherTest, ErrorStatusIsAFailure) {
  JwksServer srv("{}", 503);
  HttpJwksFetcher fetcher(srv.url());
  EXPECT_FALSE(fetcher.fetch().has_value());
  EXPECT_EQ(fetcher.last_error(), "HTTP 503");
}

TEST(JwksFetcherTest, ConnectionRefusedIsAFailure) {
  std::uint16_t port;
  {
    JwksServer srv(jwks_doc());
    port = srv.server.port();
  }
  HttpJwksFetcher fetcher("http://127.0.0.1:" + std::to_string(port) + "/jwks");
  EXPECT_FALSE(fetcher.fetch().has_value());
  EXPECT_NE(fetcher.last_error().find("connect"), std::string::npos) << fetcher.last_error();
}

TEST(JwksFetcherTest, ServerThatNeverAnswersHitsTheDeadline) {
  // The kernel completes the handshake from the backlog; nobody ever reads or answers.
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  JwksFetcherOptions options;
  options.timeout = 200ms;
  HttpJwksFetcher fetcher(
      "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/jwks", options);
  EXPECT_FALSE(fetcher.fetch().has_value());
  EXPECT_EQ(fetcher.last_error(), "timeout");
}

TEST(JwksFetcherTest, OversizedDocumentIsAFailure) {
  JwksServer srv(std::string(4096, ' ') + jwks_doc());
  JwksFetcherOptions options;
  options.max_bytes = 1024;
  HttpJwksFetcher fetcher(srv.url(), options);
  EXPECT_FALSE(fetcher.fetch().has_value());
  EXPECT_EQ(fetcher.last_error(), "document too large");
}

TEST(JwksFetcherTest, BadUrlsAreRefusedAtStartUp) {
  EXPECT_THROW(HttpJwksFetcher("ftp://example.com/jwks"), std::invalid_argument);
  EXPECT_THROW(HttpJwksFetcher("not a url"), std::invalid_argument);
  EXPECT_THROW(HttpJwksFetcher("http:///jwks"), std::invalid_argument);
  EXPECT_THROW(HttpJwksFetcher("https://user:pw@example.com/jwks"), std::invalid_argument);
  EXPECT_NO_THROW(HttpJwksFetcher("https://example.com"));
  EXPECT_NO_THROW(HttpJwksFetcher("http://[::1]:8080/jwks"));
  EXPECT_THROW(make_jwks_fetcher({}), std::invalid_argument);
}

TEST(JwksFetcherTest, SeveralUrlsServeOneSetAndKeepLastGoodKeysPerUrl) {
  const json all = json::parse(jwks_doc());
  json first{{"keys", json::array({all["keys"][0], all["keys"][1]})}};
  JwksServer a(first.dump());
  JwksServer b(testing::read_fixture("jwks_rotated.json"));
  auto fetch = make_jwks_fetcher({a.url(), b.url()});

  auto kids = [](const std::optional<std::string>& doc) {
    std::set<std::string> out;
    if (!doc) return out;
    auto parsed = parse_jwks(*doc);
    if (!parsed) return out;
    for (const auto& k : parsed->keys.keys()) out.insert(k.kid());
    return out;
  };
  EXPECT_EQ(kids(fetch()), (std::set<std::string>{"hs-1", "rsa-1", "rsa-2"}));

  // One server fails: its last good keys stay, the other's changes still arrive.
  a.set("oops", 500);
  json b2 = json::parse(testing::read_fixture("jwks_rotated.json"));
  b2["keys"].push_back(all["keys"][2]);
  b.set(b2.dump());
  EXPECT_EQ(kids(fetch()), (std::set<std::string>{"hs-1", "rsa-1", "rsa-2", "ec256-1"}));

  // Every server failing is a failed fetch: the cache keeps its set.
  b.set("", 502);
  EXPECT_FALSE(fetch().has_value());
}

TEST(JwksFetcherTest, FeedsTheCacheThroughHttp) {
  JwksServer srv(jwks_doc());
  JwksCache cache(JwksCache::Options{}, make_jwks_fetcher({srv.url()}));
  ASSERT_TRUE(cache.refresh_now());
  EXPECT_TRUE(cache.keys()->has_kid("rsa-1"));
  srv.set("down", 503);
  EXPECT_FALSE(cache.refresh_now());
  EXPECT_TRUE(cache.keys()->has_kid("rsa-1"));
  EXPECT_EQ(cache.last_error().empty(), false);
}

// ---------------------------------------------------------------- https

// A one-thread TLS server answering every request with `body`. The certificate is made with
// the openssl command line for `san` ("IP:127.0.0.1", "DNS:other.test", ...).
class TlsServer {
 public:
  TlsServer(const test::TempDir& dir, const std::string& san, std::string body)
      : body_(std::move(body)), ctx_(asio::ssl::context::tls_server), acceptor_(io_) {
    cert_ = (dir / "cert.pem").string();
    const std::string key = (dir / "key.pem").string();
    std::string out;
    const auto st = test::run_command(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert_, "-days", "2", "-subj", "/CN=jwks test", "-addext",
         "subjectAltName=" + san},
        30s, &out);
    if (!st.exited || st.code != 0) throw std::runtime_error("openssl req failed: " + out);
    ctx_.use_certificate_chain_file(cert_);
    ctx_.use_private_key_file(key, asio::ssl::context::pem);
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    stopping_ = true;
    boost::system::error_code ec;
    // Wakes the blocking accept with a connection of our own.
    asio::ip::tcp::socket poke(io_);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/jwks"; }
  const std::string& cert() const { return cert_; }
  int served() const { return served_; }

 private:
  void serve() {
    while (!stopping_) {
      asio::ssl::stream<asio::ip::tcp::socket> stream(io_, ctx_);
      boost::system::error_code ec;
      acceptor_.accept(stream.next_layer(), ec);
      if (ec || stopping_) return;
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;  // a client that refused our certificate
      std::string request;
      asio::read_until(stream, asio::dynamic_buffer(request), "\r\n\r\n", ec);
      if (ec) continue;
      const std::string response =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Content-Length: " +
          std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
      asio::write(stream, asio::buffer(response), ec);
      if (!ec) ++served_;
      stream.shutdown(ec);
    }
  }

  std::string body_;
  std::string cert_;
  asio::io_context io_;
  asio::ssl::context ctx_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

TEST(JwksFetcherTlsTest, FetchesOverHttpsWithATrustedCertificate) {
  test::TempDir dir("jwks-tls");
  TlsServer srv(dir, "IP:127.0.0.1", jwks_doc());
  JwksFetcherOptions options;
  options.ca_file = srv.cert();
  HttpJwksFetcher fetcher(srv.url(), options);
  auto body = fetcher.fetch();
  ASSERT_TRUE(body.has_value()) << fetcher.last_error();
  EXPECT_EQ(*body, jwks_doc());
}

TEST(JwksFetcherTlsTest, RefusesAnUntrustedCertificate) {
  test::TempDir dir("jwks-tls");
  TlsServer srv(dir, "IP:127.0.0.1", jwks_doc());
  HttpJwksFetcher fetcher(srv.url());  // system trust store: the test CA is not in it
  EXPECT_FALSE(fetcher.fetch().has_value());
  EXPECT_NE(fetcher.last_error().find("tls handshake"), std::string::npos) << fetcher.last_error();
  EXPECT_EQ(srv.served(), 0);
}

TEST(JwksFetcherTlsTest, RefusesACertificateForAnotherHost) {
  test::TempDir dir("jwks-tls");
  TlsServer srv(dir, "DNS:other.test", jwks_doc());
  JwksFetcherOptions options;
  options.ca_file = srv.cert();  // trusted, but not issued for 127.0.0.1
  HttpJwksFetcher fetcher(srv.url(), options);
  EXPECT_FALSE(fetcher.fetch().has_value());
  EXPECT_EQ(srv.served(), 0);
}

}  // namespace
}  // namespace gatewayd::auth
