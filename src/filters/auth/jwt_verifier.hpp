#pragma once
// Strict JWS compact-serialization JWT verification (RFC 7515, 7518, 7519, 8037, 8725).
// The token's `alg` is only checked against the selected key's allowed algorithms; `none` in any
// spelling is refused; `jku`, `x5u`, `jwk` and `x5c` are never used to find keys; a `crit`
// header is refused. Every failure is a value with a short fixed message that never contains
// the token: nothing on this path throws for bad input.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/auth/key_set.hpp"
#include "filters/auth/principal.hpp"

namespace gatewayd::auth {

enum class JwtError : std::uint8_t {
  kMalformed,
  kBadSignature,
  kUnsupportedAlg,
  kExpired,
  kNotYetValid,
  kBadIssuer,
  kBadAudience,
  kMissingClaim,
  kUnknownKid,  // no configured key has the token's kid: a JWKS refetch may find it
  kTooLarge,
};

// "malformed", "bad_signature", ... (stable, for metrics and audit).
std::string_view jwt_error_name(JwtError error) noexcept;

struct JwtVerifyOptions {
  std::size_t max_token_bytes = 8 * 1024;  // checked before any decoding
  std::chrono::seconds leeway{30};         // clock skew allowed for exp, nbf, iat
  std::vector<std::string> issuers;        // iss allow-list; empty = any issuer
  std::vector<std::string> audiences;      // aud allow-list; empty = see below
  // With no audiences configured a token that names an audience is refused, as RFC 7519
  // section 4.1.3 requires; set false to accept such tokens anyway.
  bool reject_unexpected_audience = true;
  std::vector<std::string> required_claims{"exp"};
};

class JwtResult {
 public:
  static JwtResult success(Principal principal) {
    JwtResult r;
    r.principal_ = std::move(principal);
    return r;
  }
  static JwtResult failure(JwtError error, std::string_view message) noexcept {
    JwtResult r;
    r.error_ = error;
    r.message_ = message;
    return r;
  }

  bool ok() const noexcept { return principal_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Principal& principal() const& { return *principal_; }
  Principal&& principal() && { return std::move(*principal_); }
  // Meaningful only when !ok().
  JwtError error() const noexcept { return error_; }
  // Static text safe to show to the client and log.
  std::string_view message() const noexcept { return message_; }

 private:
  JwtResult() = default;
  std::optional<Principal> principal_;
  JwtError error_ = JwtError::kMalformed;
  std::string_view message_;
};

class JwtVerifier {
 public:
  explicit JwtVerifier(JwtVerifyOptions options = {});

  // Verifies `token` (without the "Bearer " prefix) with `keys` at time `now`.
  JwtResult verify(std::string_view token, const KeySet& keys, SystemTime now) const noexcept;

  const JwtVerifyOptions& options() const noexcept { return options_; }

 private:
  JwtVerifyOptions options_;
};

}  // namespace gatewayd::auth
