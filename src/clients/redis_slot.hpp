#pragma once
// Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag ("{...}") when the key
// has a non-empty one, modulo 16384.
#include <cstdint>
#include <string_view>

namespace gatewayd {

inline constexpr std::uint16_t kRedisSlotCount = 16384;

std::uint16_t redis_crc16(std::string_view data) noexcept;

// The part of `key` that is hashed: the content of the first "{...}" when it is non-empty.
std::string_view redis_hash_tag(std::string_view key) noexcept;

std::uint16_t redis_key_slot(std::string_view key) noexcept;

}  // namespace gatewayd
