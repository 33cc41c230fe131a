#include "filters/auth/key_loader.hpp"

#include <fstream>
#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <nlohmann/json.hpp>

namespace gatewayd::auth {
namespace {

struct BioDeleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
struct X509Deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct DecoderDeleter {
  void operator()(OSSL_DECODER_CTX* p) const noexcept { OSSL_DECODER_CTX_free(p); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
struct BnDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

BioPtr memory_bio(std::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) throw std::runtime_error("out of memory");
  return bio;
}

// Refuses to prompt for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

std::string b64_member(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    throw std::invalid_argument(std::string("JWK member '") + name + "' missing or not a string");
  }
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) {
    throw std::invalid_argument(std::string("JWK member '") + name + "' is not base64url");
  }
  return *bytes;
}

PkeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    throw std::invalid_argument(std::string("JWK is not a valid ") + type + " public key");
  }
  PkeyPtr pkey(raw);
  // fromdata does not check that an EC point lies on the curve; the public check does.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    throw std::invalid_argument(std::string("JWK is not a valid ") + type + " public key");
  }
  return pkey;
}

PkeyPtr rsa_from_jwk(const nlohmann::json& jwk) {
  std::string n = b64_member(jwk, "n");
  std::string e = b64_member(jwk, "e");
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()),
                       nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()),
                       nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    throw std::runtime_error("out of memory");
  }
  return pkey_from_params("RSA", bld.get());
}

PkeyPtr ec_from_jwk(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) throw std::invalid_argument("EC JWK without crv");
  const std::string& name = crv->get_ref<const std::string&>();
  std::size_t size = 0;
  const char* group = nullptr;
  if (name == "P-256") {
    size = 32, group = "prime256v1";
  } else if (name == "P-384") {
    size = 48, group = "secp384r1";
  } else if (name == "P-521") {
    size = 66, group = "secp521r1";
  } else {
    throw std::invalid_argument("unsupported EC curve '" + name + "'");
  }
  std::string x = b64_member(jwk, "x");
  std::string y = b64_member(jwk, "y");
  // RFC 7518 section 6.2.1.2 wants the full field size, but some encoders (python3-jwt before
  // 2.8 among them) drop leading zero bytes; padding them back is unambiguous, and the point is
  // checked to lie on the curve below anyway.
  if (x.size() > size || y.size() > size) {
    throw std::invalid_argument("EC JWK coordinates are too long for " + name);
  }
  x.insert(0, size - x.size(), '\0');
  y.insert(0, size - y.size(), '\0');
  std::string point;
  point.reserve(1 + 2 * size);
  point.push_back('\x04');
  point += x;
  point += y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    throw std::runtime_error("out of memory");
  }
  return pkey_from_params("EC", bld.get());
}

PkeyPtr okp_from_jwk(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "Ed25519") {
    throw std::invalid_argument("OKP JWK curve is not Ed25519");
  }
  std::string x = b64_member(jwk, "x");
  if (x.size() != 32) throw std::invalid_argument("Ed25519 JWK x is not 32 bytes");
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(
      nullptr, "ED25519", nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
  if (!pkey) throw std::invalid_argument("JWK is not a valid Ed25519 public key");
  return pkey;
}

}  // namespace

JwtKey load_public_key_pem(std::string_view pem, std::string kid) {
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    BioPtr bio = memory_bio(pem);
    std::unique_ptr<X509, X509Deleter> cert(
        PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!cert) throw std::invalid_argument("unreadable certificate: " + openssl_error_text());
    PkeyPtr pkey(X509_get_pubkey(cert.get()));
    if (!pkey) throw std::invalid_argument("certificate without a usable public key");
    return JwtKey::from_pkey(std::move(pkey), false, std::move(kid));
  }
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, DecoderDeleter> dctx(OSSL_DECODER_CTX_new_for_pkey(
      &raw, "PEM", nullptr, nullptr, EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
  const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
  std::size_t len = pem.size();
  if (!dctx || OSSL_DECODER_from_data(dctx.get(), &data, &len) != 1 || raw == nullptr) {
    throw std::invalid_argument(
        "not a PEM public key (expected PUBLIC KEY, RSA PUBLIC KEY or "
        "CERTIFICATE): " +
        openssl_error_text());
  }
  return JwtKey::from_pkey(PkeyPtr(raw), false, std::move(kid));
}

JwtKey load_private_key_pem(std::string_view pem, std::string kid) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    throw std::invalid_argument("encrypted private keys are not supported");
  }
  BioPtr bio = memory_bio(pem);
  PkeyPtr pkey(
      PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, no_passphrase, nullptr, nullptr, nullptr));
  if (!pkey) throw std::invalid_argument("not a PEM private key: " + openssl_error_text());
  return JwtKey::from_pkey(std::move(pkey), true, std::move(kid));
}

std::string read_small_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string data;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > max_bytes) throw std::runtime_error(path + " is too large");
  }
  return data;
}

JwtKey load_key_file(const std::string& path, std::string kid) {
  std::string pem = read_small_file(path);
  try {
    if (pem.find("PRIVATE KEY-----") != std::string::npos) {
      return load_private_key_pem(pem, std::move(kid));
    }
    return load_public_key_pem(pem, std::move(kid));
  } catch (const std::exception& e) {
    OPENSSL_cleanse(pem.data(), pem.size());
    throw std::invalid_argument(path + ": " + e.what());
  }
}

JwtKey jwk_to_key(const nlohmann::json& jwk) {
  if (!jwk.is_object()) throw std::invalid_argument("JWK is not an object");
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) throw std::invalid_argument("JWK without kty");
  const std::string& kty = kty_it->get_ref<const std::string&>();
  if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig") {
    throw std::invalid_argument("JWK use is not \"sig\"");
  }
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    bool verify = false;
    if (ops->is_array()) {
      for (const auto& op : *ops) verify = verify || op == "verify";
    }
    if (!verify) throw std::invalid_argument("JWK key_ops does not include \"verify\"");
  }
  std::string kid;
  if (auto it = jwk.find("kid"); it != jwk.end()) {
    if (!it->is_string()) throw std::invalid_argument("JWK kid is not a string");
    kid = it->get<std::string>();
  }

  std::optional<JwtKey> key;
  if (kty == "RSA") {
    key = JwtKey::from_pkey(rsa_from_jwk(jwk), false, kid);
  } else if (kty == "EC") {
    key = JwtKey::from_pkey(ec_from_jwk(jwk), false, kid);
  } else if (kty == "OKP") {
    key = JwtKey::from_pkey(okp_from_jwk(jwk), false, kid);
  } else if (kty == "oct") {
    key = JwtKey::hmac(b64_member(jwk, "k"), kid);
  } else {
    throw std::invalid_argument("unsupported JWK kty '" + kty + "'");
  }
  if (auto it = jwk.find("alg"); it != jwk.end()) {
    if (!it->is_string()) throw std::invalid_argument("JWK alg is not a string");
    auto alg = parse_jwt_alg(it->get_ref<const std::string&>());
    if (!alg) throw std::invalid_argument("unsupported JWK alg");
    key = key->narrowed(AlgSet{*alg});
  }
  return *key;
}

std::optional<JwksParseResult> parse_jwks(std::string_view document, std::size_t max_bytes,
                                          std::size_t max_keys) noexcept {
  try {
    if (document.size() > max_bytes) return std::nullopt;
    auto doc = nlohmann::json::parse(document.begin(), document.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    auto keys = doc.find("keys");
    if (keys == doc.end() || !keys->is_array()) return std::nullopt;
    JwksParseResult result;
    for (const auto& entry : *keys) {
      if (result.keys.size() >= max_keys) {
        ++result.skipped;
        continue;
      }
      try {
        result.keys.add(jwk_to_key(entry));
      } catch (const std::exception& e) {
        if (result.skipped++ == 0) result.first_problem = e.what();
      }
    }
    return result;
  } catch (...) {
    return std::nullopt;
  }
}

StaticKeys load_static_keys(const StaticKeyConfig& config) {
  StaticKeys out;
  std::optional<AlgSet> narrow;
  if (!config.algorithm.empty()) {
    try {
      narrow = parse_alg_list(config.algorithm);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("JWT_ALGORITHM: ") + e.what());
    }
  }
  auto apply = [&](JwtKey key, const char* setting) {
    if (!narrow) return key;
    try {
      return key.narrowed(*narrow);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("JWT_ALGORITHM does not fit ") + setting + ": " +
                                  e.what());
    }
  };
  std::optional<JwtKey> secret_key;
  if (!config.secret.empty()) {
    secret_key = apply(JwtKey::hmac(config.secret, config.kid), "JWT_SECRET_KEY");
    out.verify.add(*secret_key);
  }
  if (!config.public_key_path.empty()) {
    try {
      out.verify.add(
          apply(load_key_file(config.public_key_path, config.kid), "JWT_PUBLIC_KEY_PATH"));
    } catch (const std::exception& e) {  // unreadable files too, not only bad contents
      throw std::invalid_argument(std::string("JWT_PUBLIC_KEY_PATH: ") + e.what());
    }
  }
  if (!config.private_key_path.empty()) {
    JwtKey key = [&] {
      try {
        return apply(load_key_file(config.private_key_path, config.kid), "JWT_PRIVATE_KEY_PATH");
      } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("JWT_PRIVATE_KEY_PATH: ") + e.what());
      }
    }();
    if (!key.can_sign()) {
      throw std::invalid_argument("JWT_PRIVATE_KEY_PATH does not hold a private key");
    }
    out.signing = key;
    // Tokens the gateway issues itself must verify without a separate public key setting.
    if (config.public_key_path.empty()) out.verify.add(key);
  } else if (secret_key) {
    out.signing = secret_key;
  }
  if (out.signing) {
    for (int i = 0; i < kJwtAlgCount; ++i) {
      auto alg = static_cast<JwtAlg>(i);
      if (out.signing->allows(alg)) {
        out.signing_alg = alg;
        break;
      }
    }
  }
  return out;
}

}  // namespace gatewayd::auth
