#include "filters/auth/jwt_signer.hpp"

#include <stdexcept>

#include "filters/auth/crypto_util.hpp"

namespace gatewayd::auth {

std::optional<std::string> sign_jwt(const nlohmann::json& header, const nlohmann::json& claims,
                                    const JwtKey& key, JwtAlg alg) {
  if (!key.allows(alg) || !key.can_sign() || !claims.is_object()) return std::nullopt;
  nlohmann::json h = header.is_object() ? header : nlohmann::json::object();
  for (const char* name : {"crit", "jku", "x5u", "jwk", "x5c", "kid"}) h.erase(name);
  h["alg"] = jwt_alg_name(alg);
  if (!h.contains("typ")) h["typ"] = "JWT";
  if (!key.kid().empty()) h["kid"] = key.kid();
  std::string token =
      base64url_encode(h.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  token += '.';
  token += base64url_encode(claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  auto sig = key.sign(alg, token);
  if (!sig) return std::nullopt;
  token += '.';
  token += base64url_encode(*sig);
  return token;
}

JwtSigner::JwtSigner(JwtKey key, JwtAlg alg) : key_(std::move(key)), alg_(alg) {
  if (!key_.can_sign()) throw std::invalid_argument("the signing key has no private half");
  if (!key_.allows(alg_)) {
    throw std::invalid_argument(std::string(jwt_alg_name(alg_)) + " cannot be used with a " +
                                std::string(key_type_name(key_.type())) + " key");
  }
}

}  // namespace gatewayd::auth
