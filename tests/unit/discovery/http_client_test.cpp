// The control-plane HTTP client against real sockets: a fake HTTP server and raw canned
// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// responses (chunked bodies, silence, resets).
#include "clients/http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <future>
#include <thread>

#include "discovery_test_util.hpp"
#include "support/fake_http_server.hpp"
#include "support/free_port.hpp"

namespace gatewayd {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using discovery::testing::ControlThread;

// Accepts connections, reads a request head and answers with `script` pieces, pausing until
// the test releases each following piece.
class CannedServer {
 public:
  explicit CannedServer(std::vector<std::string> pieces, bool close_after = true)
      : pieces_(std::move(pieces)),
        close_after_(close_after),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        thread_([this] { serve(); }) {}
  ~CannedServer() {
    release(pieces_.size() + 1);
    // Wakes a serve() still blocked in accept().
    asio::io_context io;
    tcp::socket wake(io);
    boost::system::error_code ignored;
    wake.connect(acceptor_.local_endpoint(), ignored);
    wake.close(ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  bool head_received() const { return head_received_.load(); }
  // Lets the first `n` pieces go out (the first is always sent).
  void release(std::size_t n) {
    std::lock_guard lock(mutex_);
    released_ = std::max(released_, n);
    cv_.notify_all();
  }

 private:
  void serve() {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    asio::streambuf head;
    asio::read_until(socket, head, "\r\n\r\n", ec);
    if (ec) return;
    head_received_ = true;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      if (i > 0) {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return released_ > i; });
      }
      asio::write(socket, asio::buffer(pieces_[i]), ec);
      if (ec) return;
    }
    if (!close_after_) {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return released_ > pieces_.size(); });
    }
  }

  std::vector<std::string> pieces_;
  bool close_after_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t released_ = 1;
  std::atomic<bool> head_received_{false};
  std::thread thread_;
};

HttpClientResponse run_request(ControlThread& control, HttpEndpoint ep, HttpClientRequest req,
                               HttpRequestOptions options = {}) {
  return asio::co_spawn(control.executor(), http_request(ep, std::move(req), options),
                        asio::use_future)
      .get();
}

TEST(HttpClient, ParsesEndpoints) {
  auto ep = parse_http_endpoint("http://10.0.0.1:2379/v3");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "10.0.0.1");
  EXPECT_EQ(ep->port, 2379);
  ep = parse_http_endpoint("nacos:8848");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "nacos");
  ep = parse_http_endpoint("consul", 8500);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, 8500);
  ep = parse_http_endpoint("[::1]:80");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "::1");
  EXPECT_FALSE(parse_http_endpoint("https://x:1"));
  EXPECT_FALSE(parse_http_endpoint("x:0"));
  EXPECT_FALSE(parse_http_endpoint("x:"));
  EXPECT_FALSE(parse_http_endpoint(""));
}

TEST(HttpClient, EncodesForms) {
  EXPECT_EQ(url_encode("a b/c?d=e&f~_.-"), "a%20b%2Fc%3Fd%3De%26f~_.-");
  EXPECT_EQ(form_encode({{"user name", "p&w"}, {"x", ""}}), "user%20name=p%26w&x=");
}

TEST(HttpClient, SendsRequestAndReadsResponse) {
  test::FakeHttpServer server([](test::FakeRequest r) -> asio::awaitable<test::FakeResponse> {
    test::FakeResponse out;
    out.status = 201;
    out.body = r.method + " " + r.path + " q=" + r.query["q"] + " f=" + r.form["f"] +
               " h=" + r.header("X-Test");
    out.headers.emplace_back("X-Answer", "42");
    co_return out;
  });
  ControlThread control;
  HttpClientRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/path/x?q=" + url_encode("a b");
  req.headers.emplace_back("X-Test", "yes");
  req.body = form_encode({{"f", "v&w"}});
  req.content_type = "application/x-www-form-urlencoded";
  const auto response = run_request(control, {"127.0.0.1", server.port()}, req);
  ASSERT_TRUE(response.transport_ok()) << response.describe();
  EXPECT_EQ(response.status, 201u);
  EXPECT_TRUE(response.ok());
  EXPECT_EQ(response.body, "POST /path/x q=a b f=v&w h=yes");
  EXPECT_EQ(response.header("x-answer"), "42");
}

TEST(HttpClient, AssemblesChunkedBodies) {
  CannedServer server(
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"});
  ControlThread control;
  const auto response = run_request(control, {"127.0.0.1", server.port()}, {});
  ASSERT_TRUE(response.ok()) << response.describe();
  EXPECT_EQ(response.body, "hello world");
}

TEST(HttpClient, FailsFastOnRefusedConnection) {
  ControlThread control;
  const auto response = run_request(control, {"127.0.0.1", test::free_port()}, {});
  EXPECT_FALSE(response.transport_ok());
  EXPECT_EQ(response.status, 0u);
  EXPECT_EQ(response.error, asio::error::connection_refused);
}

TEST(HttpClient, TimesOutOnASilentServer) {
  CannedServer server({""}, /*close_after=*/false);
  ControlThread control;
  HttpRequestOptions options;
  options.timeout = std::chrono::milliseconds(200);
  const auto response = run_request(control, {"127.0.0.1", server.port()}, {}, options);
  EXPECT_EQ(response.error, boost::beast::error::timeout);
}

TEST(HttpClient, EnforcesTheBodyLimit) {
  test::FakeHttpServer server([](test::FakeRequest) -> asio::awaitable<test::FakeResponse> {
    co_return test::FakeResponse{200, std::string(10'000, 'x'), "text/plain", {}};
  });
  ControlThread control;
  HttpRequestOptions options;
  options.body_limit = 1000;
  const auto response = run_request(control, {"127.0.0.1", server.port()}, {}, options);
  EXPECT_EQ(response.error, boost::beast::http::error::body_limit);
}

TEST(HttpClient, StreamsABodyPieceByPiece) {
  CannedServer server(
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "6\r\nline1\n\r\n",
       "3\r\nlin\r\n", "3\r\ne2\n\r\n", "0\r\n\r\n"});
  ControlThread control;
  auto result = asio::co_spawn(
      control.executor(),
      [](std::uint16_t port, CannedServer* canned) -> asio::awaitable<std::vector<std::string>> {
        HttpStreamReader reader(co_await asio::this_coro::executor);
        // Named arguments: GCC 12 mishandles braced temporaries in co_await expressions.
        const HttpEndpoint endpoint{"127.0.0.1", port};
        const HttpClientRequest request;
        const HttpRequestOptions options;
        const auto head = co_await reader.open(endpoint, request, options);
        std::vector<std::string> lines;
        if (!head.ok()) co_return lines;
        LineSplitter splitter;
        std::size_t released = 1;
        for (;;) {
          std::string chunk;
          const auto ec = co_await reader.read_some(chunk, std::chrono::seconds(10));
          splitter.feed(chunk);
          while (auto line = splitter.next()) {
            lines.push_back(*line);
            // Each complete line lets the server send the next pieces.
          }
          if (ec) break;
          canned->release(++released);
        }
        co_return lines;
      }(server.port(), &server),
      asio::use_future);
  EXPECT_EQ(result.get(), (std::vector<std::string>{"line1", "line2"}));
}

TEST(HttpClient, StreamIdleTimeout) {
  CannedServer server({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}, false);
  ControlThread control;
  auto ec = asio::co_spawn(
                control.executor(),
                [](std::uint16_t port) -> asio::awaitable<boost::system::error_code> {
                  HttpStreamReader reader(co_await asio::this_coro::executor);
                  // Named arguments: GCC 12 mishandles braced temporaries in co_await expressions.
                  const HttpEndpoint endpoint{"127.0.0.1", port};
                  const HttpClientRequest request;
                  const HttpRequestOptions options;
                  const auto head = co_await reader.open(endpoint, request, options);
                  if (!head.ok()) co_return head.error;
                  std::string chunk;
                  co_return co_await reader.read_some(chunk, std::chrono::milliseconds(100));
                }(server.port()),
                asio::use_future)
                .get();
  EXPECT_EQ(ec, boost::beast::error::timeout);
}

TEST(HttpClient, TerminalCancellationEndsAPendingRequest) {
  CannedServer server({""}, /*close_after=*/false);
  ControlThread control;
  asio::cancellation_signal signal;
  std::promise<HttpClientResponse> result;
  asio::post(control.executor(), [&] {
    asio::co_spawn(
        control.executor(),
        http_request({"127.0.0.1", server.port()}, {},
                     HttpRequestOptions{std::chrono::seconds(5), std::chrono::minutes(5)}),
        asio::bind_cancellation_slot(signal.slot(),
                                     [&](std::exception_ptr e, HttpClientResponse r) {
                                       if (e) {
                                         result.set_exception(e);
                                       } else {
                                         result.set_value(std::move(r));
                                       }
                                     }));
  });
  // Cancel while the client waits for the answer.
  ASSERT_TRUE(discovery::testing::eventually([&] { return server.head_received(); }));
  asio::post(control.executor(), [&] { signal.emit(asio::cancellation_type::terminal); });
  auto future = result.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "a cancelled request must not wait for its 5-minute deadline";
  try {
    const auto response = future.get();
    EXPECT_FALSE(response.transport_ok());
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
}

TEST(LineSplitter, SplitsAndBoundsLines) {
  LineSplitter lines(8);
  EXPECT_TRUE(lines.feed("ab\r\ncd"));
  EXPECT_EQ(lines.next(), "ab");
  EXPECT_FALSE(lines.next());
  EXPECT_TRUE(lines.feed("e\n"));
  EXPECT_EQ(lines.next(), "cde");
  EXPECT_FALSE(lines.feed("123456789"));
}

}  // namespace
}  // namespace gatewayd
