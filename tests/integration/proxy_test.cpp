// End-to-end tests of the core proxy: the real gatewayd binary in front of real upstream
// processes, driven over loopback sockets.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/polling.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;

std::string services_for(const DemoUpstream& a) {
  return "services:\n  demo:\n    instances:\n      - url: " + a.url() + "\n";
}

std::string demo_routes(const std::string& extra = "") {
  return R"(routes:
  - path: /demo/**
    service: demo
    methods: [GET, POST, PUT, DELETE]
    auth_required: false
    strip_prefix: true
    timeout: 2
    max_body_bytes: 1048576
  - path: /raw/**
    service: demo
    methods: [GET, POST]
    auth_required: false
  - path: /only-get
    service: demo
    methods: [GET]
    auth_required: false
)" + extra;
}

std::uint64_t peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

class ProxyTest : public ::testing::Test {
 protected:
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{{demo_routes(), services_for(upstream), {}, 1, true}};
};

TEST_F(ProxyTest, ProxiesGetWithStrippedPrefixAndQueryUntouched) {
  const auto res = http_get(gateway.port(), "/demo/echo/x?b=2&a=1&b=3&empty=&%41=z");
  ASSERT_EQ(res.status, 200u) << res.error << res.body;
  const auto j = json::parse(res.body);
  EXPECT_EQ(j["target"], "/echo/x?b=2&a=1&b=3&empty=&%41=z");
  EXPECT_FALSE(res.header("X-Request-Id").empty());
}

TEST_F(ProxyTest, ForwardsTargetByteForByteWithoutRewrite) {
  const auto res = http_get(gateway.port(), "/raw/echo?q=%7Bx%7D&q=2");
  ASSERT_EQ(res.status, 200u) << res.body;
  // The demo upstream reports the target of paths it has no handler for as "path".
  EXPECT_EQ(json::parse(res.body)["path"], "/raw/echo?q=%7Bx%7D&q=2");
}

TEST_F(ProxyTest, SetsForwardingHeadersAndStripsSpoofedIdentity) {
  const auto res = http_get(gateway.port(), "/demo/echo",
                            {{"X-User-Id", "admin"},
                             {"X-Roles", "root"},
                             {"X-Permissions", "*"},
                             {"X-Forwarded-For", "6.6.6.6"},
                             {"X-Request-Id", "client-id-42"},
                             {"Connection", "keep-alive, X-Hop"},
                             {"X-Hop", "secret"}});
  ASSERT_EQ(res.status, 200u);
  const auto j = json::parse(res.body);
  std::map<std::string, std::string> h;
  for (const auto& pair : j["headers"]) h[pair[0].get<std::string>()] = pair[1].get<std::string>();
  EXPECT_EQ(h.count("X-User-Id"), 0u);
  EXPECT_EQ(h.count("X-Roles"), 0u);
  EXPECT_EQ(h.count("X-Permissions"), 0u);
  EXPECT_EQ(h.count("X-Hop"), 0u);
  EXPECT_EQ(h["X-Forwarded-For"], "127.0.0.1");
  EXPECT_EQ(h["X-Forwarded-Proto"], "http");
  EXPECT_EQ(h["X-Request-Id"], "client-id-42");
  EXPECT_EQ(res.header("X-Request-Id"), "client-id-42");
}

TEST_F(ProxyTest, UnsafeRequestIdIsReplacedNeverEchoed) {
  const auto res = http_get(gateway.port(), "/demo/hello", {{"X-Request-Id", "bad id<script>"}});
  ASSERT_EQ(res.status, 200u);
  EXPECT_NE(res.header("X-Request-Id"), "bad id<script>");
  EXPECT_FALSE(res.header("X-Request-Id").empty());
}

TEST_F(ProxyTest, PostsFixedAndChunkedBodies) {
  HttpRequestSpec fixed;
  fixed.method = "POST";
  fixed.target = "/demo/echo";
  fixed.body = std::string(100'000, 'a');
  auto res = http_request(gateway.port(), fixed);
  ASSERT_EQ(res.status, 200u) << res.error;
  EXPECT_EQ(json::parse(res.body)["body_size"], 100'000);

  HttpRequestSpec chunked = fixed;
  chunked.chunked = true;
  chunked.body = std::string(70'001, 'b');
  res = http_request(gateway.port(), chunked);
  ASSERT_EQ(res.status, 200u) << res.error;
  EXPECT_EQ(json::parse(res.body)["body_size"], 70'001);
}

TEST_F(ProxyTest, ExpectContinueIsHonoured) {
  const std::string body(1000, 'z');
  const std::string head =
      "POST /demo/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n"
      "Connection: close\r\n\r\n";
  const auto out = raw_exchange(gateway.port(), head + body);
  EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(out.find("\"body_size\":1000"), std::string::npos);
}

TEST_F(ProxyTest, KeepAliveReusesUpstreamConnections) {
  const auto a = json::parse(http_get(gateway.port(), "/demo/echo").body);
  const auto b = json::parse(http_get(gateway.port(), "/demo/echo").body);
  EXPECT_EQ(a["connection"], b["connection"]);

  HttpConnection client(gateway.port());
  HttpRequestSpec spec;
  spec.target = "/demo/hello";
  for (int i = 0; i < 5; ++i) {
    const auto r = client.request(spec);
    ASSERT_EQ(r.status, 200u) << r.error;
    EXPECT_TRUE(r.keep_alive);
  }
}

// The upstream closes a connection right after answering on it, as a server whose keep-alive
// timeout fires does while the gateway holds the connection in its pool. No request may fail
// for it: a GET goes out on the pooled connection without a liveness probe and is sent again
// on a new connection; a POST whose streamed body cannot be sent twice only gets a pooled
// connection the probe found open.
TEST_F(ProxyTest, UpstreamClosingAPooledConnectionFailsNoRequest) {
  std::uint64_t closed = 0;
  const auto wait_closed = [&] {
    ++closed;
    // Counted by the upstream after its close returned: the gateway's socket has the FIN.
    return eventually([&] {
      const auto stats = http_get(upstream.port(), "/stats");
      return stats.status == 200u &&
             json::parse(stats.body)["closed_after_answer"].get<std::uint64_t>() >= closed;
    });
  };
  for (int round = 0; round < 3; ++round) {
    auto closing = http_get(gateway.port(), "/demo/close");
    ASSERT_EQ(closing.status, 200u) << closing.error;
    const auto closed_connection = json::parse(closing.body)["closing"];
    ASSERT_TRUE(wait_closed());
    const auto get = http_get(gateway.port(), "/demo/echo");
    ASSERT_EQ(get.status, 200u) << get.error << get.body;
    EXPECT_NE(json::parse(get.body)["connection"], closed_connection);

    closing = http_get(gateway.port(), "/demo/close");
    ASSERT_EQ(closing.status, 200u) << closing.error;
    ASSERT_TRUE(wait_closed());
    auto post = request_spec("POST", "/demo/echo", {}, std::string(3000, 'p'));
    post.chunked = round % 2 == 1;
    const auto posted = http_request(gateway.port(), post);
    ASSERT_EQ(posted.status, 200u) << posted.error << posted.body;
    EXPECT_EQ(json::parse(posted.body)["body_size"], 3000);
  }
}

// A client that starts a head and stalls gets 408 once the header timeout passes (the socket
// is still writable when the deadline cancels the read); a keep-alive connection that stays
// silent is closed after the idle timeout without an answer.
TEST(ProxyTimeouts, SlowHeadGets408AndSilentConnectionIsClosed) {
  DemoUpstream upstream{"demo"};
  GatewayProcess gateway{{demo_routes(),
                          services_for(upstream),
                          {{"HEADER_TIMEOUT_MS", "300"}, {"KEEPALIVE_TIMEOUT_MS", "300"}},
                          1,
                          true}};
  const auto slow = raw_exchange(gateway.port(), "GET /demo/hello HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(slow.rfind("HTTP/1.1 408 ", 0), 0u) << slow;
  EXPECT_NE(slow.find("\"REQUEST_TIMEOUT\""), std::string::npos) << slow;
  EXPECT_NE(slow.find("Connection: close"), std::string::npos) << slow;

  // A complete request, then silence: the answer, then the end of the stream from the gateway
  // (the client's own 30 s limit would show as a timeout instead).
  namespace beast = boost::beast;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), gateway.port()});
  const std::string request = "GET /demo/hello HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(stream, boost::asio::buffer(request));
  std::string received;
  char buf[4096];
  boost::system::error_code ec;
  for (;;) {
    const auto n = stream.read_some(boost::asio::buffer(buf), ec);
    received.append(buf, n);
    if (ec) break;
  }
  EXPECT_EQ(ec, boost::asio::error::eof) << ec.message();
  EXPECT_EQ(received.rfind("HTTP/1.1 200 ", 0), 0u) << received;
  EXPECT_EQ(received.find("HTTP/1.1 408"), std::string::npos) << received;
}

// An upstream body without Content-Length or chunking ends at the upstream's FIN, which here
// arrives with the last bytes: re-framed as chunked for an HTTP/1.1 client, close-delimited
// for an HTTP/1.0 one, complete either way.
TEST_F(ProxyTest, CloseDelimitedUpstreamBodiesEndAtTheUpstreamsClose) {
  for (const int size : {0, 10, 70000}) {
    const auto target = "/demo/close-delimited/" + std::to_string(size);
    const auto res = http_get(gateway.port(), target);
    ASSERT_EQ(res.status, 200u) << res.error;
    EXPECT_EQ(res.body, std::string(static_cast<std::size_t>(size), 'c'));
    EXPECT_EQ(res.header("Transfer-Encoding"), "chunked");

    const auto raw = raw_exchange(gateway.port(), "GET " + target + " HTTP/1.0\r\n\r\n");
    const auto body_at = raw.find("\r\n\r\n");
    ASSERT_NE(body_at, std::string::npos) << raw;
    EXPECT_EQ(raw.rfind("HTTP/1.1 200 ", 0), 0u) << raw;
    EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos) << raw.substr(0, body_at);
    EXPECT_TRUE(raw.substr(body_at + 4) == std::string(static_cast<std::size_t>(size), 'c'))
        << raw.substr(body_at + 4, 64);
  }
}

TEST_F(ProxyTest, HeadFollowsGetWithoutBody) {
  HttpConnection client(gateway.port());
  HttpRequestSpec head;
  head.method = "HEAD";
  head.target = "/demo/bytes/5000?chunked=1";
  auto h = client.request(head);
  ASSERT_EQ(h.status, 200u) << h.error;
  EXPECT_TRUE(h.body.empty());
  head.target = "/demo/bytes/5000";
  h = client.request(head);
  ASSERT_EQ(h.status, 200u) << h.error;
  EXPECT_EQ(h.header("Content-Length"), "5000");
  // The connection is still in sync after HEAD responses.
  HttpRequestSpec get;
  get.target = "/demo/hello";
  const auto g = client.request(get);
  ASSERT_EQ(g.status, 200u) << g.error;
  EXPECT_NE(g.body.find("hello"), std::string::npos);
}

TEST_F(ProxyTest, MultipleSetCookieStaySeparateAndDateIsNotDuplicated) {
  const auto res = http_get(gateway.port(), "/demo/cookies");
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(res.headers_named("Set-Cookie").size(), 2u);
  EXPECT_EQ(res.headers_named("Date").size(), 1u);
  EXPECT_EQ(res.headers_named("Server").size(), 1u);
}

TEST_F(ProxyTest, LocalErrorsUseTheJsonShape) {
  auto res = http_get(gateway.port(), "/nope");
  EXPECT_EQ(res.status, 404u);
  auto j = json::parse(res.body);
  EXPECT_EQ(j["error"]["code"], "NOT_FOUND");
  EXPECT_EQ(j["request_id"], res.header("X-Request-Id"));

  HttpRequestSpec post;
  post.method = "POST";
  post.target = "/only-get";
  post.body = "x";
  res = http_request(gateway.port(), post);
  EXPECT_EQ(res.status, 405u);
  EXPECT_NE(res.header("Allow").find("GET"), std::string::npos);
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "METHOD_NOT_ALLOWED");
}

TEST_F(ProxyTest, RejectsOversizedBodyHeadersAndUri) {
  HttpRequestSpec big;
  big.method = "POST";
  big.target = "/demo/echo";
  big.body = std::string(2 * 1024 * 1024, 'x');
  auto res = http_request(gateway.port(), big);
  EXPECT_EQ(res.status, 413u) << res.error;

  big.chunked = true;
  res = http_request(gateway.port(), big);
  EXPECT_TRUE(res.status == 413u || res.status == 0u) << res.status;

  res = http_get(gateway.port(), "/demo/" + std::string(10'000, 'u'));
  EXPECT_EQ(res.status, 414u);

  res = http_get(gateway.port(), "/demo/hello", {{"X-Big", std::string(20'000, 'h')}});
  EXPECT_EQ(res.status, 431u);
}

TEST_F(ProxyTest, RejectsSmugglingShapes) {
  auto out = raw_exchange(gateway.port(),
                          "POST /demo/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  out = raw_exchange(gateway.port(),
                     "POST /demo/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  out = raw_exchange(gateway.port(),
                     "GET /demo/hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  out = raw_exchange(gateway.port(), "GET /demo/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  out = raw_exchange(gateway.port(), "GET /demo/../../etc HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
}

TEST_F(ProxyTest, NormalisedPathIsWhatTheUpstreamReceives) {
  const auto res = http_get(gateway.port(), "/raw/./x/../echo/%7e");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json::parse(res.body)["path"], "/raw/echo/~");
}

TEST_F(ProxyTest, UpstreamDownGives502AndHungGives504) {
  upstream.stop();
  auto res = http_get(gateway.port(), "/demo/hello");
  EXPECT_EQ(res.status, 502u);
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "BAD_GATEWAY");
  upstream.start();
  res = http_get(gateway.port(), "/demo/delay/5000");
  EXPECT_EQ(res.status, 504u);
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "UPSTREAM_TIMEOUT");
}

TEST_F(ProxyTest, StreamsLargeResponsesWithBoundedMemory) {
  constexpr std::uint64_t kSize = 100ull * 1024 * 1024;
  for (const char* mode : {"", "?chunked=1"}) {
    HttpRequestSpec spec;
    spec.target = std::string("/demo/bytes/") + std::to_string(kSize) + mode;
    spec.timeout = std::chrono::seconds(60);
    const auto res = http_request(gateway.port(), spec);
    ASSERT_EQ(res.status, 200u) << res.error;
    EXPECT_EQ(res.body.size(), kSize);
  }
  // Peak resident memory of the gateway stays far below the size it relayed.
  EXPECT_LT(peak_rss_kib(gateway.process().pid()), 64u * 1024u);
}

TEST_F(ProxyTest, TunnelsWebSockets) {
  namespace beast = boost::beast;
  namespace websocket = beast::websocket;
  boost::asio::io_context io;
  websocket::stream<beast::tcp_stream> ws(io);
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(ws).connect({boost::asio::ip::make_address("127.0.0.1"), gateway.port()});
  ws.handshake("127.0.0.1", "/demo/ws");
  for (int i = 0; i < 3; ++i) {
    const std::string msg = "ping " + std::to_string(i);
    ws.write(boost::asio::buffer(msg));
    beast::flat_buffer buf;
    ws.read(buf);
    EXPECT_EQ(beast::buffers_to_string(buf.data()), msg);
  }
  ws.close(websocket::close_code::normal);
}

TEST_F(ProxyTest, HealthReadyAndMetrics) {
  auto res = http_get(gateway.port(), "/health");
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(json::parse(res.body)["status"], "healthy");
  res = http_get(gateway.port(), "/ready");
  EXPECT_EQ(res.status, 200u) << res.body;
  http_get(gateway.port(), "/demo/hello");
  res = http_get(gateway.port(), "/metrics");
  ASSERT_EQ(res.status, 200u);
  EXPECT_NE(res.body.find("gatewayd_http_requests_total{"), std::string::npos);
  EXPECT_NE(res.body.find("gatewayd_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_EQ(res.body.find("/demo/hello"), std::string::npos);  // raw paths never become labels
}

}  // namespace
}  // namespace gatewayd::test
