#include "observability/request_id.hpp"

#include <cstdint>

#include "observability/fast_random.hpp"

namespace gatewayd {

bool is_safe_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void write_request_id(char (&out)[36]) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint8_t bytes[16];
  random_bytes(bytes, sizeof bytes);
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::size_t pos = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[pos++] = '-';
    out[pos++] = kHex[bytes[i] >> 4];
    out[pos++] = kHex[bytes[i] & 0x0F];
  }
}

std::string generate_request_id() {
  char buf[36];
  write_request_id(buf);
  return std::string(buf, sizeof buf);
}

}  // namespace gatewayd
