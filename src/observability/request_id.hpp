#pragma once
// X-Request-Id handling: a client's id is kept only when it is short and made of characters that
// are safe to echo in headers and logs; otherwise the gateway generates one.
#include <string>
#include <string_view>

namespace gatewayd {

inline constexpr std::size_t kMaxRequestIdLength = 128;

// 1..128 characters of [A-Za-z0-9._:-].
bool is_safe_request_id(std::string_view id) noexcept;

// A time-ordered UUIDv7 string (36 characters, lowercase hex): the time in milliseconds, then
// random bits from the per-thread PRNG.
std::string generate_request_id();

// Writes the same format into `out` without allocating.
void write_request_id(char (&out)[36]) noexcept;

}  // namespace gatewayd
