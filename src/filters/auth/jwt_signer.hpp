#pragma once
// Issues JWS compact tokens with the gateway's own key (the token endpoints). The header gets
// "alg", "typ":"JWT" and the key's "kid" (when it has one) on top of any extra members given.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "filters/auth/jwt_key.hpp"

namespace gatewayd::auth {

// Signs `claims` with `key` and `alg`. nullopt when the key cannot sign with `alg` (no private
// half, or an algorithm outside the key's set) or OpenSSL fails. Header members "alg", "kid",
// "crit", "jku", "x5u", "jwk" and "x5c" in `header` are ignored/overridden.
std::optional<std::string> sign_jwt(const nlohmann::json& header, const nlohmann::json& claims,
                                    const JwtKey& key, JwtAlg alg);

// A signing key and algorithm checked together once at start-up.
class JwtSigner {
 public:
  // Throws std::invalid_argument when `key` cannot sign with `alg`.
  JwtSigner(JwtKey key, JwtAlg alg);

  std::optional<std::string> sign(const nlohmann::json& claims) const {
    return sign_jwt(nlohmann::json::object(), claims, key_, alg_);
  }
  JwtAlg alg() const noexcept { return alg_; }
  const JwtKey& key() const noexcept { return key_; }

 private:
  JwtKey key_;
  JwtAlg alg_;
};

}  // namespace gatewayd::auth
