#include "filters/auth/jwt_key.hpp"

#include <array>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

namespace gatewayd::auth {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

int hmac_index(JwtAlg alg) noexcept {
  switch (alg) {
    case JwtAlg::kHS256:
      return 0;
    case JwtAlg::kHS384:
      return 1;
    case JwtAlg::kHS512:
      return 2;
    default:
      return -1;
  }
}

// Bytes per coordinate of the raw R||S ECDSA signature JWS uses (RFC 7518 section 3.4).
std::size_t ecdsa_coordinate_size(JwtAlg alg) noexcept {
  switch (alg) {
    case JwtAlg::kES256:
      return 32;
    case JwtAlg::kES384:
      return 48;
    case JwtAlg::kES512:
      return 66;
    default:
      return 0;
  }
}

bool is_pss(JwtAlg alg) noexcept {
  return alg == JwtAlg::kPS256 || alg == JwtAlg::kPS384 || alg == JwtAlg::kPS512;
}

// Converts a raw R||S signature to the DER ECDSA-Sig-Value EVP_DigestVerify expects.
bool raw_to_der(std::string_view raw, std::size_t n, std::string& der) {
  if (raw.size() != 2 * n) return false;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!sig) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(p + n, static_cast<int>(n), nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return false;
  der.resize(static_cast<std::size_t>(len));
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  return i2d_ECDSA_SIG(sig.get(), &out) == len;
}

std::optional<std::string> der_to_raw(std::string_view der, std::size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * n, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, static_cast<int>(n)) < 0 ||
      BN_bn2binpad(s, out + n, static_cast<int>(n)) < 0) {
    return std::nullopt;
  }
  return raw;
}

// Sets up RSA padding for RS* (PKCS#1 v1.5) or PS* (PSS, MGF1 with the same digest, salt as
// long as the digest as RFC 7518 section 3.5 requires).
bool set_rsa_padding(EVP_PKEY_CTX* pctx, JwtAlg alg, KeyType type) {
  if (!is_pss(alg)) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
  if (type == KeyType::kRsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0) {
    return false;
  }
  return EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, jwt_alg_digest(alg), nullptr) > 0;
}

KeyType classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA-PSS")) return KeyType::kRsaPss;
  if (EVP_PKEY_is_a(pkey, "RSA")) return KeyType::kRsa;
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyType::kEd25519;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1) {
      throw std::invalid_argument("EC key without a named curve");
    }
    std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256" || g == "secp256r1") return KeyType::kEcP256;
    if (g == "secp384r1" || g == "P-384") return KeyType::kEcP384;
    if (g == "secp521r1" || g == "P-521") return KeyType::kEcP521;
    throw std::invalid_argument("unsupported EC curve '" + std::string(g) +
                                "' (JWS uses P-256, P-384 or P-521)");
  }
  throw std::invalid_argument(std::string("unsupported key type '") +
                              EVP_PKEY_get0_type_name(pkey) + "' (expected RSA, EC or Ed25519)");
}

}  // namespace

std::string_view key_type_name(KeyType type) noexcept {
  switch (type) {
    case KeyType::kHmac:
      return "HMAC";
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kRsaPss:
      return "RSA-PSS";
    case KeyType::kEcP256:
      return "EC P-256";
    case KeyType::kEcP384:
      return "EC P-384";
    case KeyType::kEcP521:
      return "EC P-521";
    case KeyType::kEd25519:
      return "Ed25519";
  }
  return "unknown";
}

AlgSet algorithms_for(KeyType type) noexcept {
  switch (type) {
    case KeyType::kHmac:
      return AlgSet::hmac();
    case KeyType::kRsa:
      return AlgSet::rsa();
    case KeyType::kRsaPss:
      return AlgSet::rsa_pss();
    case KeyType::kEcP256:
      return {JwtAlg::kES256};
    case KeyType::kEcP384:
      return {JwtAlg::kES384};
    case KeyType::kEcP521:
      return {JwtAlg::kES512};
    case KeyType::kEd25519:
      return {JwtAlg::kEdDSA};
  }
  return {};
}

JwtKey JwtKey::hmac(std::string secret, std::string kid) {
  if (secret.empty()) throw std::invalid_argument("empty HMAC secret");
  JwtKey key;
  key.type_ = KeyType::kHmac;
  key.kid_ = std::move(kid);
  key.algs_ = AlgSet::hmac();
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::invalid_argument("HMAC is not available: " + openssl_error_text());
  static constexpr const char* kDigests[3] = {"SHA256", "SHA384", "SHA512"};
  for (int i = 0; i < 3; ++i) {
    MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(kDigests[i]), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                             secret.size(), params) != 1) {
      EVP_MAC_free(mac);
      throw std::invalid_argument("cannot set up HMAC: " + openssl_error_text());
    }
    key.hmac_ctx_[i] = std::shared_ptr<EVP_MAC_CTX>(ctx.release(), MacCtxDeleter{});
  }
  EVP_MAC_free(mac);
  OPENSSL_cleanse(secret.data(), secret.size());
  return key;
}

JwtKey JwtKey::from_pkey(PkeyPtr pkey, bool has_private, std::string kid) {
  if (!pkey) throw std::invalid_argument("no key");
  KeyType type = classify(pkey.get());
  if ((type == KeyType::kRsa || type == KeyType::kRsaPss) && EVP_PKEY_get_bits(pkey.get()) < 2048) {
    throw std::invalid_argument("RSA key of " + std::to_string(EVP_PKEY_get_bits(pkey.get())) +
                                " bits is too small (at least 2048 bits)");
  }
  JwtKey key;
  key.type_ = type;
  key.kid_ = std::move(kid);
  key.algs_ = algorithms_for(type);
  key.has_private_ = has_private;
  key.pkey_ = std::shared_ptr<EVP_PKEY>(pkey.release(), PkeyDeleter{});
  return key;
}

JwtKey JwtKey::narrowed(AlgSet algs) const {
  JwtKey copy = *this;
  copy.algs_ = algs_.intersect(algs);
  if (copy.algs_.empty()) {
    throw std::invalid_argument("algorithms " + algs.to_string() + " cannot be used with a " +
                                std::string(key_type_name(type_)) + " key (it allows " +
                                algs_.to_string() + ")");
  }
  return copy;
}

JwtKey JwtKey::with_kid(std::string kid) const {
  JwtKey copy = *this;
  copy.kid_ = std::move(kid);
  return copy;
}

std::optional<std::string> JwtKey::hmac_digest(JwtAlg alg, std::string_view input) const {
  int idx = hmac_index(alg);
  if (idx < 0 || !hmac_ctx_[idx]) return std::nullopt;
  MacCtxPtr ctx(EVP_MAC_CTX_dup(hmac_ctx_[idx].get()));
  if (!ctx) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &len, sizeof out) != 1) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool JwtKey::verify_hmac(JwtAlg alg, std::string_view input, std::string_view sig) const noexcept {
  try {
    auto expected = hmac_digest(alg, input);
    return expected && constant_time_equal(*expected, sig);
  } catch (...) {
    return false;
  }
}

bool JwtKey::verify(JwtAlg alg, std::string_view signing_input,
                    std::string_view signature) const noexcept {
  if (!allows(alg) || signature.empty()) return false;
  if (type_ == KeyType::kHmac) return verify_hmac(alg, signing_input, signature);
  try {
    std::string der;
    if (std::size_t n = ecdsa_coordinate_size(alg); n != 0) {
      if (!raw_to_der(signature, n, der)) return false;
      signature = der;
    }
    MdCtxPtr mctx(EVP_MD_CTX_new());
    if (!mctx) return false;
    EVP_PKEY_CTX* pctx = nullptr;
    const char* md = alg == JwtAlg::kEdDSA ? nullptr : jwt_alg_digest(alg);
    if (EVP_DigestVerifyInit_ex(mctx.get(), &pctx, md, nullptr, nullptr, pkey_.get(), nullptr) !=
        1) {
      return false;
    }
    if ((type_ == KeyType::kRsa || type_ == KeyType::kRsaPss) &&
        !set_rsa_padding(pctx, alg, type_)) {
      return false;
    }
    int rc = EVP_DigestVerify(
        mctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
        reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
    return rc == 1;
  } catch (...) {
    return false;
  }
}

std::optional<std::string> JwtKey::sign(JwtAlg alg, std::string_view signing_input) const {
  if (!allows(alg) || !can_sign()) return std::nullopt;
  if (type_ == KeyType::kHmac) return hmac_digest(alg, signing_input);
  MdCtxPtr mctx(EVP_MD_CTX_new());
  if (!mctx) return std::nullopt;
  EVP_PKEY_CTX* pctx = nullptr;
  const char* md = alg == JwtAlg::kEdDSA ? nullptr : jwt_alg_digest(alg);
  if (EVP_DigestSignInit_ex(mctx.get(), &pctx, md, nullptr, nullptr, pkey_.get(), nullptr) != 1) {
    return std::nullopt;
  }
  if ((type_ == KeyType::kRsa || type_ == KeyType::kRsaPss) && !set_rsa_padding(pctx, alg, type_)) {
    return std::nullopt;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  std::size_t len = 0;
  if (EVP_DigestSign(mctx.get(), nullptr, &len, in, signing_input.size()) != 1) {
    return std::nullopt;
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(mctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     signing_input.size()) != 1) {
    return std::nullopt;
  }
  sig.resize(len);
  if (std::size_t n = ecdsa_coordinate_size(alg); n != 0) return der_to_raw(sig, n);
  return sig;
}

}  // namespace gatewayd::auth
