#include "observability/request_id.hpp"

#include <chrono>
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
  // UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds. Ids stored as the
  // unique key of gateway_logs then land at the end of the index instead of at a random page,
  // which matters once the table no longer fits in memory; 74 random bits keep them unique.
  const auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x70);  // version 7
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 9562 variant
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
