#pragma once
// JWS algorithms the gateway accepts (RFC 7518 section 3, RFC 8037) and small sets of them.
// Names are case-sensitive as the RFCs define them; "none" is deliberately not representable.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatewayd::auth {

enum class JwtAlg : std::uint8_t {
  kHS256,
  kHS384,
  kHS512,
  kRS256,
  kRS384,
  kRS512,
  kPS256,
  kPS384,
  kPS512,
  kES256,
  kES384,
  kES512,
  kEdDSA,
};
inline constexpr int kJwtAlgCount = 13;

std::string_view jwt_alg_name(JwtAlg alg) noexcept;
std::optional<JwtAlg> parse_jwt_alg(std::string_view name) noexcept;

// The digest an algorithm signs with ("SHA256", ...); empty for EdDSA, which hashes internally.
const char* jwt_alg_digest(JwtAlg alg) noexcept;

class AlgSet {
 public:
  constexpr AlgSet() = default;
  constexpr AlgSet(std::initializer_list<JwtAlg> algs) {
    for (JwtAlg a : algs) bits_ |= bit(a);
  }
  static constexpr AlgSet hmac() { return {JwtAlg::kHS256, JwtAlg::kHS384, JwtAlg::kHS512}; }
  static constexpr AlgSet rsa() {
    return {JwtAlg::kRS256, JwtAlg::kRS384, JwtAlg::kRS512,
            JwtAlg::kPS256, JwtAlg::kPS384, JwtAlg::kPS512};
  }
  static constexpr AlgSet rsa_pss() { return {JwtAlg::kPS256, JwtAlg::kPS384, JwtAlg::kPS512}; }

  constexpr bool contains(JwtAlg a) const noexcept { return (bits_ & bit(a)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  constexpr void insert(JwtAlg a) noexcept { bits_ |= bit(a); }
  constexpr AlgSet intersect(AlgSet o) const noexcept { return from_bits(bits_ & o.bits_); }
  constexpr bool operator==(const AlgSet&) const = default;
  // "RS256,PS256"
  std::string to_string() const;

 private:
  static constexpr std::uint16_t bit(JwtAlg a) {
    return static_cast<std::uint16_t>(1u << static_cast<unsigned>(a));
  }
  static constexpr AlgSet from_bits(std::uint16_t b) {
    AlgSet s;
    s.bits_ = b;
    return s;
  }
  std::uint16_t bits_ = 0;
};

// Parses "RS256, PS256" or a single name; throws std::invalid_argument naming a bad entry.
AlgSet parse_alg_list(std::string_view text);

}  // namespace gatewayd::auth
