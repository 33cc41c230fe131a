#include "server/head_writer.hpp"

#include <charconv>

namespace gatewayd {

namespace http = boost::beast::http;

namespace {

void append(std::string& out, std::string_view s) {
  out.append(s.data(), s.size());
}

void append_version(std::string& out, unsigned version) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

void append_fields(const http::fields& fields, std::string& out) {
  for (const auto& f : fields) {
    append(out, f.name_string());
    out += ": ";
    append(out, f.value());
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

void append_head(const http::request_header<>& head, std::string& out) {
  append(out, head.method_string());
  out += ' ';
  append(out, head.target());
  out += ' ';
  append_version(out, head.version());
  out += "\r\n";
  append_fields(head, out);
}

void append_head(const http::response_header<>& head, std::string& out) {
  append_version(out, head.version());
  char code[4] = {'0', '0', '0', ' '};
  const unsigned status = head.result_int() % 1000;
  code[0] = static_cast<char>('0' + status / 100);
  code[1] = static_cast<char>('0' + status / 10 % 10);
  code[2] = static_cast<char>('0' + status % 10);
  out += ' ';
  out.append(code, sizeof code);
  append(out, head.reason());  // the standard phrase when the head has none
  out += "\r\n";
  append_fields(head, out);
}

BodyFramer::Buffers BodyFramer::frame(std::string_view& head, const char* data, std::size_t size,
                                      bool last) {
  namespace asio = boost::asio;
  static constexpr std::string_view kChunkEnd = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  static constexpr std::string_view kChunkEndLastChunk = "\r\n0\r\n\r\n";
  Buffers out{asio::const_buffer(head.data(), head.size()), asio::const_buffer(),
              asio::const_buffer(), asio::const_buffer()};
  head = {};
  if (!chunked_) {
    out[2] = asio::const_buffer(data, size);
    return out;
  }
  if (size > 0) {
    auto [end, ec] = std::to_chars(size_line_, size_line_ + sizeof size_line_ - 2, size, 16);
    *end++ = '\r';
    *end++ = '\n';
    out[1] = asio::const_buffer(size_line_, static_cast<std::size_t>(end - size_line_));
    out[2] = asio::const_buffer(data, size);
    const auto tail = last ? kChunkEndLastChunk : kChunkEnd;
    out[3] = asio::const_buffer(tail.data(), tail.size());
  } else if (last) {
    out[3] = asio::const_buffer(kLastChunk.data(), kLastChunk.size());
  }
  return out;
}

}  // namespace gatewayd
