// Heads and body framing the proxy writes itself: byte for byte what Beast's serializer writes
// for the same message, and chunked bodies that a parser decodes back to what was framed.
#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>

#include "server/head_writer.hpp"

namespace gatewayd {
namespace {

namespace http = boost::beast::http;

template <class Message>
std::string beast_head(const Message& m) {
  std::ostringstream out;
  out << m.base();
  return out.str();  // the head as Beast's serializer writes it, empty line included
}

TEST(HeadWriter, RequestHeadMatchesBeast) {
  http::request<http::empty_body> req{http::verb::post, "/a/b?x=1&x=2", 11};
  req.set(http::field::host, "up:8080");
  req.insert("X-Dup", "one");
  req.insert("X-Dup", "two");
  req.set("X-Empty", "");
  req.chunked(true);
  std::string out;
  append_head(req, out);
  EXPECT_EQ(out, beast_head(req));
  EXPECT_TRUE(out.starts_with("POST /a/b?x=1&x=2 HTTP/1.1\r\nHost: up:8080\r\n")) << out;

  http::request<http::empty_body> custom;
  custom.method_string("PURGE");
  custom.target("/cache");
  custom.version(10);
  out.clear();
  append_head(custom, out);
  EXPECT_EQ(out, "PURGE /cache HTTP/1.0\r\n\r\n");
}

TEST(HeadWriter, ResponseHeadKeepsTheUpstreamReasonOrUsesTheStandardOne) {
  for (const std::string_view wire : {"HTTP/1.1 200 Fine Thanks\r\nSet-Cookie: a=1\r\nSet-Cookie: "
                                      "b=2\r\nContent-Length: 0\r\n\r\n",
                                      "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
                                      "HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n"}) {
    http::response_parser<http::empty_body> parser;
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    std::string out;
    append_head(parser.get(), out);
    EXPECT_EQ(out, beast_head(parser.get())) << wire;
  }
  http::response<http::empty_body> res{http::status::not_found, 11};
  std::string out;
  append_head(res, out);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\n\r\n");
}

std::string gather(const BodyFramer::Buffers& buffers) {
  std::string s;
  for (const auto& b : buffers) s.append(static_cast<const char*>(b.data()), b.size());
  return s;
}

TEST(BodyFramer, SendsTheHeadOnceAndPlainPiecesAsTheyAre) {
  BodyFramer framer(false);
  std::string_view head = "HEAD\r\n\r\n";
  EXPECT_EQ(gather(framer.frame(head, "abc", 3, false)), "HEAD\r\n\r\nabc");
  EXPECT_TRUE(head.empty());
  EXPECT_EQ(gather(framer.frame(head, "de", 2, true)), "de");
}

TEST(BodyFramer, ChunkedPiecesDecodeToTheOriginalBody) {
  const std::string body(70000, 'z');
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string_view head = wire;
  std::string framed;
  BodyFramer framer(true);
  // Pieces of several sizes (one of 0xFFFF: a multi-digit hex size line), an empty piece in
  // the middle (no chunk: an empty chunk would end the body), then an empty last piece.
  std::size_t at = 0;
  for (const std::size_t size :
       {std::size_t{1}, std::size_t{0}, std::size_t{0xFFFF}, std::size_t{4000}}) {
    framed += gather(framer.frame(head, body.data() + at, size, false));
    at += size;
  }
  framed += gather(framer.frame(head, body.data() + at, body.size() - at, true));
  EXPECT_TRUE(framed.ends_with("\r\n0\r\n\r\n"));

  http::response_parser<http::string_body> parser;
  parser.eager(true);
  boost::system::error_code ec;
  const auto used = parser.put(boost::asio::buffer(framed), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, framed.size());
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get().body(), body);

  std::string_view none;
  BodyFramer empty(true);
  EXPECT_EQ(gather(empty.frame(none, nullptr, 0, true)), "0\r\n\r\n");
}

}  // namespace
}  // namespace gatewayd
