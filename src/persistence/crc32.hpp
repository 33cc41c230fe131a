#pragma once
// CRC-32 (IEEE 802.3, the zlib/PNG polynomial): the per-record checksum of the spool file.
#include <cstdint>
#include <string_view>

namespace gatewayd::persistence {

std::uint32_t crc32(std::string_view data, std::uint32_t seed = 0) noexcept;

}  // namespace gatewayd::persistence
