#pragma once
// A fast per-thread PRNG (xoshiro256**) seeded from std::random_device, for identifiers that
// must be unique and unpredictable enough for correlation (trace, span and request ids) but
// carry no security value. Not for keys or tokens.
#include <cstddef>
#include <cstdint>

namespace gatewayd {

std::uint64_t random_u64() noexcept;
void random_bytes(std::uint8_t* out, std::size_t n) noexcept;

}  // namespace gatewayd
