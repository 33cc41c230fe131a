#pragma once
// Small OpenSSL helpers shared by the auth code: owning pointers, digests, hex, randomness,
// and the strict base64url codec JWS uses.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>

namespace gatewayd::auth {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::string_view data) noexcept;
std::string to_hex(const std::uint8_t* data, std::size_t size);
inline std::string to_hex(const Sha256Digest& d) {
  return to_hex(d.data(), d.size());
}
// Lower- or upper-case hex of exactly 2*N digits.
std::optional<Sha256Digest> sha256_from_hex(std::string_view hex) noexcept;

// Cryptographically strong random bytes; throws std::runtime_error if the RNG fails.
std::string random_bytes(std::size_t n);

// Constant-time equality of two byte strings (the length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// base64url without padding (RFC 7515 section 2). Decoding is strict: only the url-safe
// alphabet, no '=' padding, no whitespace, and the unused trailing bits must be zero so each
// byte string has exactly one accepted encoding.
std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);
bool base64url_decode_into(std::string_view text, std::string& out);

// The last OpenSSL error as text, for start-up messages (never contains key material).
std::string openssl_error_text();

}  // namespace gatewayd::auth
