#pragma once
// One key the gateway verifies (and, with private material, signs) JWS tokens with. The key
// decides the algorithm family: an HMAC secret allows only HS*, an RSA key RS*/PS*, an EC key
// the ES* of its curve, an Ed25519 key EdDSA. Configuration may narrow that set further, never
// widen it. A JwtKey is an immutable value that is cheap to copy (the OpenSSL objects are shared
// and only read), so it can be used from every worker thread at once.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "filters/auth/crypto_util.hpp"
#include "filters/auth/jwt_alg.hpp"

namespace gatewayd::auth {

enum class KeyType : std::uint8_t { kHmac, kRsa, kRsaPss, kEcP256, kEcP384, kEcP521, kEd25519 };

std::string_view key_type_name(KeyType type) noexcept;
AlgSet algorithms_for(KeyType type) noexcept;

class JwtKey {
 public:
  // Start-up constructors: they throw std::invalid_argument with a message that names the
  // problem (never the key material).
  static JwtKey hmac(std::string secret, std::string kid = {});
  // Takes ownership of `pkey`. RSA keys under 2048 bits and curves other than P-256/P-384/P-521
  // are refused. `has_private` says whether `pkey` holds the private half (needed to sign).
  static JwtKey from_pkey(PkeyPtr pkey, bool has_private, std::string kid = {});

  // A copy that allows only `algs` ∩ the key's own algorithms; throws if nothing remains.
  JwtKey narrowed(AlgSet algs) const;
  JwtKey with_kid(std::string kid) const;

  KeyType type() const noexcept { return type_; }
  const std::string& kid() const noexcept { return kid_; }
  AlgSet algorithms() const noexcept { return algs_; }
  bool allows(JwtAlg alg) const noexcept { return algs_.contains(alg); }
  bool can_sign() const noexcept { return type_ == KeyType::kHmac || has_private_; }
  EVP_PKEY* pkey() const noexcept { return pkey_.get(); }

  // Checks a raw JWS signature (R||S for ECDSA) over `signing_input`. False for any failure,
  // including an algorithm this key does not allow. Never throws.
  bool verify(JwtAlg alg, std::string_view signing_input,
              std::string_view signature) const noexcept;
  // The raw JWS signature, or nullopt when the key cannot sign with `alg`.
  std::optional<std::string> sign(JwtAlg alg, std::string_view signing_input) const;

 private:
  JwtKey() = default;
  bool verify_hmac(JwtAlg alg, std::string_view input, std::string_view sig) const noexcept;
  std::optional<std::string> hmac_digest(JwtAlg alg, std::string_view input) const;

  KeyType type_ = KeyType::kHmac;
  std::string kid_;
  AlgSet algs_;
  bool has_private_ = false;
  std::shared_ptr<EVP_PKEY> pkey_;
  // HMAC: one context per digest already keyed with the secret; each use works on a duplicate,
  // which skips the per-call algorithm fetch and key schedule.
  std::shared_ptr<EVP_MAC_CTX> hmac_ctx_[3];
};

}  // namespace gatewayd::auth
