#pragma once
// Message heads and body framing written by the proxy itself instead of Beast's serializer.
//
// Beast's serializer presents a head as one buffer per header field behind nested buffer
// views, and walking those views was about 5 % of a worker's CPU on small proxied requests.
// Here a head is formatted once into one contiguous string, and each relayed body piece goes
// out as at most four buffers (head, chunk size line, data, chunk end), so a small exchange
// is one gathered write per direction.
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace gatewayd {

// Appends "METHOD target HTTP/x.y\r\n", the fields in order and the empty line.
void append_head(const boost::beast::http::request_header<>& head, std::string& out);
// Appends "HTTP/x.y code reason\r\n" (the standard reason when the head has none), the fields
// in order and the empty line.
void append_head(const boost::beast::http::response_header<>& head, std::string& out);

// Frames one body piece: as it is (Content-Length or close-delimited bodies) or as one chunk,
// with the last chunk appended when `last` is set. `head`, when not empty, goes first and is
// emptied (sent once). The returned buffers stay valid until the next frame() call.
class BodyFramer {
 public:
  explicit BodyFramer(bool chunked) noexcept : chunked_(chunked) {}

  using Buffers = std::array<boost::asio::const_buffer, 4>;
  Buffers frame(std::string_view& head, const char* data, std::size_t size, bool last);

  bool chunked() const noexcept { return chunked_; }

 private:
  bool chunked_;
  char size_line_[20];  // hex size + CRLF: 16 digits at most for a 64-bit size
};

}  // namespace gatewayd
