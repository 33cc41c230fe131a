#pragma once
// Start-up key loading from PEM text, PEM files, JWKs and the JWT_* settings. Everything here
// may throw std::invalid_argument / std::runtime_error with a message naming the file or field
// at fault; no message contains key material.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "filters/auth/jwt_key.hpp"
#include "filters/auth/key_set.hpp"

namespace gatewayd::auth {

// SubjectPublicKeyInfo ("PUBLIC KEY"), PKCS#1 ("RSA PUBLIC KEY") or an X.509 certificate.
JwtKey load_public_key_pem(std::string_view pem, std::string kid = {});
// PKCS#8 or traditional RSA/EC private keys; encrypted keys are refused (no passphrase prompt).
JwtKey load_private_key_pem(std::string_view pem, std::string kid = {});
// Public or private, chosen by the PEM label. The file must be at most 1 MiB.
JwtKey load_key_file(const std::string& path, std::string kid = {});
std::string read_small_file(const std::string& path, std::size_t max_bytes = 1 << 20);

// One JWK (RFC 7517/7518/8037): kty RSA (n, e), EC (crv P-256/P-384/P-521, x, y), OKP
// (crv Ed25519, x) or oct (k). `alg`, when present, narrows the key to that algorithm and
// `kid` is kept. Private members are ignored: only the public half is loaded. Keys whose `use`
// is not "sig" or whose `key_ops` lack "verify" are refused. Throws std::invalid_argument.
JwtKey jwk_to_key(const nlohmann::json& jwk);

struct JwksParseResult {
  KeySet keys;
  std::size_t skipped = 0;    // entries refused (other use, unknown kty, bad values)
  std::string first_problem;  // why the first refused entry was refused
};
// Parses {"keys":[...]}. Never throws: returns nullopt when the document is not a JWKS at all
// (bad JSON, no "keys" array, too large) and skips unusable entries. `max_keys` bounds the work.
std::optional<JwksParseResult> parse_jwks(std::string_view document,
                                          std::size_t max_bytes = 1 << 20,
                                          std::size_t max_keys = 100) noexcept;

// The JWT_* settings as plain values, so this module needs nothing from the settings loader.
struct StaticKeyConfig {
  std::string secret;            // JWT_SECRET_KEY: HS* key when not empty
  std::string algorithm;         // JWT_ALGORITHM: narrows every static key when not empty
  std::string public_key_path;   // JWT_PUBLIC_KEY_PATH: RSA/EC/Ed25519 verification key
  std::string private_key_path;  // JWT_PRIVATE_KEY_PATH: signing key for issued tokens
  std::string kid;               // kid given to the gateway's own keys (may be empty)
};

struct StaticKeys {
  KeySet verify;                  // keys for verification
  std::optional<JwtKey> signing;  // key the token endpoints sign with
  std::optional<JwtAlg> signing_alg;
};
// Builds the configured keys. The signing key is the private key when a path is given, else
// the secret. Throws with a message naming the setting at fault.
StaticKeys load_static_keys(const StaticKeyConfig& config);

}  // namespace gatewayd::auth
