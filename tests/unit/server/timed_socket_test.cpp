// TimedSocket: deadlines that cancel pending operations with beast::error::timeout and leave
// the socket usable, and reads that wait for readiness after a short read without losing data.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <string>

#include "server/timed_socket.hpp"

namespace gatewayd {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// A connected pair on loopback: `ours` wrapped in a TimedSocket, `peer` a plain socket.
struct Pair {
  asio::io_context io;
  tcp::socket peer{io};
  std::optional<TimedSocket> ours;

  Pair() {
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    peer = acceptor.accept();
    ours.emplace(std::move(client));
  }
};

TEST(TimedSocket, DeadlineCancelsAPendingReadWithTimeoutAndTheSocketStaysWritable) {
  Pair p;
  error_code read_ec;
  std::string received;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        char buf[64];
        p.ours->expires_after(std::chrono::milliseconds(20));
        auto [ec, n] = co_await p.ours->async_read_some(asio::buffer(buf),
                                                        asio::as_tuple(asio::use_awaitable));
        read_ec = ec;
        // A new deadline clears the timeout: the answer still goes out (a 408, say).
        p.ours->expires_after(std::chrono::seconds(30));
        co_await asio::async_write(*p.ours, asio::buffer(std::string_view("late answer")),
                                   asio::as_tuple(asio::use_awaitable));
        p.ours->socket().shutdown(tcp::socket::shutdown_send);
        p.ours.reset();  // a live socket's armed timer would keep the loop running
      },
      asio::detached);
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        char buf[64];
        for (;;) {
          auto [ec, n] = co_await p.peer.async_read_some(asio::buffer(buf),
                                                         asio::as_tuple(asio::use_awaitable));
          received.append(buf, n);
          if (ec) break;
        }
      },
      asio::detached);
  p.io.run();
  EXPECT_EQ(read_ec, boost::beast::error::timeout) << read_ec.message();
  EXPECT_EQ(received, "late answer");
}

TEST(TimedSocket, AnOperationStartedAfterTheDeadlineTimesOutUntilANewDeadlineIsSet) {
  Pair p;
  p.ours->expires_at(TimedSocket::clock::now() - std::chrono::seconds(1));
  error_code first, second;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        auto [e1, n1] = co_await asio::async_write(*p.ours, asio::buffer(std::string_view("x")),
                                                   asio::as_tuple(asio::use_awaitable));
        first = e1;
        p.ours->expires_never();
        auto [e2, n2] = co_await asio::async_write(*p.ours, asio::buffer(std::string_view("y")),
                                                   asio::as_tuple(asio::use_awaitable));
        second = e2;
      },
      asio::detached);
  p.io.run();
  EXPECT_EQ(first, boost::beast::error::timeout);
  EXPECT_FALSE(second) << second.message();
  char c = 0;
  EXPECT_EQ(p.peer.read_some(asio::buffer(&c, 1)), 1u);
  EXPECT_EQ(c, 'y');  // the timed-out write sent nothing
}

// Each read is short (the buffer is larger than what is there), so each following read waits
// for readiness instead of trying first; the peer only writes after the previous piece was
// read, so every piece arrives while a read waits. Then the end of the stream.
TEST(TimedSocket, ReadsAfterShortReadsStillSeeEveryByteThenTheEnd) {
  Pair p;
  std::string received;
  error_code end;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        p.ours->expires_after(std::chrono::seconds(30));
        char buf[4096];
        for (int i = 0; i < 50; ++i) {
          const std::string piece = "piece " + std::to_string(i) + ";";
          co_await asio::async_write(p.peer, asio::buffer(piece), asio::use_awaitable);
          std::size_t got = 0;
          while (got < piece.size()) {
            auto [ec, n] = co_await p.ours->async_read_some(asio::buffer(buf),
                                                            asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            received.append(buf, n);
            got += n;
          }
        }
        // 10 bytes and the FIN queued together, read 3 at a time. The last short read cannot
        // tell that the FIN is already there, so reading to the end of the stream takes eager
        // reads (without them the read would wait for its deadline).
        co_await asio::async_write(p.peer, asio::buffer(std::string_view("0123456789")),
                                   asio::use_awaitable);
        p.peer.shutdown(tcp::socket::shutdown_send);
        p.ours->set_eager_reads(true);
        for (;;) {
          auto [ec, n] = co_await p.ours->async_read_some(asio::buffer(buf, 3),
                                                          asio::as_tuple(asio::use_awaitable));
          received.append(buf, n);
          if (ec) {
            end = ec;
            break;
          }
        }
        p.ours.reset();
      },
      asio::detached);
  p.io.run();
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "piece " + std::to_string(i) + ";";
  EXPECT_EQ(received, expected + "0123456789");
  EXPECT_EQ(end, asio::error::eof) << end.message();
}

TEST(TimedSocket, ALongDeadlineDoesNotKeepTheLoopRunningOnceTheSocketIsGone) {
  Pair p;
  asio::co_spawn(
      p.io,
      [&]() -> asio::awaitable<void> {
        p.ours->expires_after(std::chrono::hours(1));
        co_await asio::async_write(*p.ours, asio::buffer(std::string_view("z")),
                                   asio::use_awaitable);
        p.ours.reset();  // the timer armed for an hour goes with it
        p.peer.close();
      },
      asio::detached);
  // run() returns only when no work is left; a timer kept alive would hold it for an hour.
  p.io.run();
  EXPECT_TRUE(p.io.stopped());
}

TEST(TimedSocket, ConnectsWithinTheDeadline) {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  TimedSocket socket(io.get_executor());
  socket.expires_after(std::chrono::seconds(30));
  error_code connect_ec = asio::error::would_block;
  bool open = false;
  socket.async_connect(acceptor.local_endpoint(), [&](error_code ec) {
    connect_ec = ec;
    open = socket.socket().is_open();
    socket.close();  // cancels the timer, so run() returns
  });
  io.run();
  EXPECT_FALSE(connect_ec) << connect_ec.message();
  EXPECT_TRUE(open);
}

}  // namespace
}  // namespace gatewayd
