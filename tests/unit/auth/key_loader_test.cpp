#include "filters/auth/key_loader.hpp"

#include <gtest/gtest.h>

#include "auth_fixtures.hpp"
#include "filters/auth/jwt_verifier.hpp"

namespace gatewayd::auth {
namespace {

using nlohmann::json;
using testing::fixture_now;
using testing::key_path;
using testing::read_fixture;
using testing::tokens;

std::string valid_token(const std::string& alg, bool kid = true) {
  return tokens()["valid"][alg][kid ? "token" : "token_no_kid"].get<std::string>();
}

bool verifies(const KeySet& keys, const std::string& token) {
  JwtVerifyOptions o;
  o.audiences = {"gatewayd"};
  return JwtVerifier(o).verify(token, keys, fixture_now()).ok();
}

TEST(KeyLoader, PublicKeyFormats) {
  struct Case {
    const char* file;
    KeyType type;
    const char* alg;
  } cases[] = {
      {"rsa_public.pem", KeyType::kRsa, "RS256"},
      {"rsa_public_pkcs1.pem", KeyType::kRsa, "PS384"},
      {"rsa_cert.pem", KeyType::kRsa, "RS512"},
      {"ec256_public.pem", KeyType::kEcP256, "ES256"},
      {"ec384_public.pem", KeyType::kEcP384, "ES384"},
      {"ec521_public.pem", KeyType::kEcP521, "ES512"},
      {"ed25519_public.pem", KeyType::kEd25519, "EdDSA"},
  };
  for (const auto& c : cases) {
    JwtKey key = load_key_file(key_path(c.file));
    EXPECT_EQ(key.type(), c.type) << c.file;
    EXPECT_FALSE(key.can_sign()) << c.file;
    KeySet keys;
    keys.add(key);
    EXPECT_TRUE(verifies(keys, valid_token(c.alg, false))) << c.file;
  }
}

TEST(KeyLoader, AlgorithmsFollowTheKeyType) {
  EXPECT_EQ(load_key_file(key_path("rsa_public.pem")).algorithms(), AlgSet::rsa());
  EXPECT_EQ(load_key_file(key_path("ec521_public.pem")).algorithms(), AlgSet{JwtAlg::kES512});
  EXPECT_EQ(load_key_file(key_path("ed25519_public.pem")).algorithms(), AlgSet{JwtAlg::kEdDSA});
  EXPECT_EQ(JwtKey::hmac("s").algorithms(), AlgSet::hmac());
}

TEST(KeyLoader, PrivateKeysCanSign) {
  for (const char* file : {"rsa_private.pem", "ec256_private.pem", "ec384_private.pem",
                           "ec521_private.pem", "ed25519_private.pem"}) {
    JwtKey key = load_key_file(key_path(file));
    EXPECT_TRUE(key.can_sign()) << file;
  }
}

TEST(KeyLoader, RefusesWeakOrUnusableKeys) {
  try {
    load_key_file(key_path("rsa1024_public.pem"));
    FAIL() << "1024-bit RSA accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at least 2048"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_key_file(key_path("rsa_private_encrypted.pem")), std::invalid_argument);
  EXPECT_THROW(load_key_file(key_path("missing.pem")), std::runtime_error);
  EXPECT_THROW(load_public_key_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
               std::invalid_argument);
  EXPECT_THROW(JwtKey::hmac(""), std::invalid_argument);
}

TEST(KeyLoader, ErrorsDoNotQuoteKeyMaterial) {
  const std::string pem = read_fixture("keys/rsa_private.pem");
  std::string broken = pem;
  broken[100] = '*';
  try {
    load_private_key_pem(broken);
    FAIL() << "broken key accepted";
  } catch (const std::exception& e) {
    std::string what = e.what();
    for (std::size_t i = 40; i + 12 < broken.size(); i += 12) {
      ASSERT_EQ(what.find(broken.substr(i, 12)), std::string::npos);
    }
  }
}

TEST(Jwks, FixtureSetVerifiesEveryAlgorithm) {
  auto parsed = parse_jwks(read_fixture("jwks.json"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->skipped, 0u) << parsed->first_problem;
  EXPECT_EQ(parsed->keys.size(), 6u);
  for (const char* kid : {"hs-1", "rsa-1", "ec256-1", "ec384-1", "ec521-1", "ed-1"}) {
    EXPECT_TRUE(parsed->keys.has_kid(kid)) << kid;
  }
  for (const auto& [alg, entry] : tokens()["valid"].items()) {
    EXPECT_TRUE(verifies(parsed->keys, entry["token"].get<std::string>())) << alg;
    EXPECT_TRUE(verifies(parsed->keys, entry["token_no_kid"].get<std::string>())) << alg;
  }
}

json fixture_jwk(const std::string& kid) {
  const json doc = json::parse(read_fixture("jwks.json"));
  for (const auto& k : doc["keys"]) {
    if (k["kid"] == kid) return k;
  }
  throw std::runtime_error("no fixture JWK " + kid);
}

TEST(Jwks, MembersAreRespected) {
  json rsa = fixture_jwk("rsa-1");
  rsa["alg"] = "PS256";
  JwtKey narrowed = jwk_to_key(rsa);
  EXPECT_EQ(narrowed.algorithms(), AlgSet{JwtAlg::kPS256});
  EXPECT_EQ(narrowed.kid(), "rsa-1");

  json ec = fixture_jwk("ec256-1");
  ec["alg"] = "RS256";  // contradicts the key type
  EXPECT_THROW(jwk_to_key(ec), std::invalid_argument);

  json enc = fixture_jwk("rsa-1");
  enc["use"] = "enc";
  EXPECT_THROW(jwk_to_key(enc), std::invalid_argument);
  json ops = fixture_jwk("rsa-1");
  ops["key_ops"] = json::array({"encrypt"});
  EXPECT_THROW(jwk_to_key(ops), std::invalid_argument);
  json none = fixture_jwk("rsa-1");
  none["alg"] = "none";
  EXPECT_THROW(jwk_to_key(none), std::invalid_argument);
}

TEST(Jwks, RefusesInvalidPublicKeys) {
  json ec = fixture_jwk("ec256-1");
  std::string y = *base64url_decode(ec["y"].get<std::string>());
  y[31] = static_cast<char>(y[31] ^ 1);  // moves the point off the curve
  ec["y"] = base64url_encode(y);
  EXPECT_THROW(jwk_to_key(ec), std::invalid_argument);

  json long_x = fixture_jwk("ec384-1");
  long_x["x"] =
      base64url_encode(std::string(1, '\0') + *base64url_decode(long_x["x"].get<std::string>()));
  EXPECT_THROW(jwk_to_key(long_x), std::invalid_argument);

  json bad_okp = fixture_jwk("ed-1");
  bad_okp["crv"] = "X25519";
  EXPECT_THROW(jwk_to_key(bad_okp), std::invalid_argument);

  json small_rsa = fixture_jwk("rsa-1");
  small_rsa["n"] = base64url_encode(std::string(128, '\xc5'));
  EXPECT_THROW(jwk_to_key(small_rsa), std::invalid_argument);

  EXPECT_THROW(jwk_to_key(json{{"kty", "RSA"}, {"n", "+++"}, {"e", "AQAB"}}),
               std::invalid_argument);
}

TEST(Jwks, EcCoordinatesWithoutLeadingZerosAreAccepted) {
  // P-521 coordinates are 66 bytes whose first byte is 0 or 1; encoders that strip leading
  // zeros produce 65 bytes about half the time. Both spellings must load the same key.
  json jwk = fixture_jwk("ec521-1");
  for (const char* coord : {"x", "y"}) {
    std::string bytes = *base64url_decode(jwk[coord].get<std::string>());
    bytes.insert(0, 66 - bytes.size(), '\0');
    json full = jwk;
    full[coord] = base64url_encode(bytes);
    json stripped = jwk;
    stripped[coord] = base64url_encode(bytes.substr(bytes.find_first_not_of('\0')));
    for (const json& variant : {full, stripped}) {
      KeySet keys;
      keys.add(jwk_to_key(variant));
      EXPECT_TRUE(verifies(keys, valid_token("ES512"))) << coord;
    }
  }
}

TEST(Jwks, DocumentsThatAreNotJwksAreRefused) {
  EXPECT_FALSE(parse_jwks("not json"));
  EXPECT_FALSE(parse_jwks("[]"));
  EXPECT_FALSE(parse_jwks(R"({"keys": {}})"));
  EXPECT_FALSE(parse_jwks(R"({"other": []})"));
  EXPECT_FALSE(parse_jwks(std::string(2 << 20, ' ')));
  auto empty = parse_jwks(R"({"keys": []})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->keys.empty());
}

TEST(Jwks, UnusableEntriesAreSkippedAndCounted) {
  json doc = json::parse(read_fixture("jwks.json"));
  doc["keys"].push_back(json{{"kty", "unknown"}, {"kid", "x"}});
  doc["keys"].push_back(json{{"kty", "RSA"}, {"kid", "y"}, {"use", "enc"}});
  doc["keys"].push_back(42);
  auto parsed = parse_jwks(doc.dump());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->keys.size(), 6u);
  EXPECT_EQ(parsed->skipped, 3u);
  EXPECT_NE(parsed->first_problem.find("kty"), std::string::npos) << parsed->first_problem;

  auto bounded = parse_jwks(doc.dump(), 1 << 20, 2);
  ASSERT_TRUE(bounded);
  EXPECT_EQ(bounded->keys.size(), 2u);
}

TEST(StaticKeys, SecretNarrowedByJwtAlgorithm) {
  StaticKeyConfig config;
  config.secret = testing::hmac_secret();
  config.algorithm = "HS256";
  StaticKeys keys = load_static_keys(config);
  ASSERT_EQ(keys.verify.size(), 1u);
  EXPECT_TRUE(verifies(keys.verify, valid_token("HS256")));
  EXPECT_FALSE(verifies(keys.verify, valid_token("HS512")));
  ASSERT_TRUE(keys.signing);
  EXPECT_EQ(keys.signing_alg, JwtAlg::kHS256);
}

TEST(StaticKeys, PrivateKeySignsAndVerifies) {
  StaticKeyConfig config;
  config.private_key_path = key_path("rsa_private.pem");
  config.algorithm = "RS256";
  StaticKeys keys = load_static_keys(config);
  ASSERT_TRUE(keys.signing);
  EXPECT_EQ(keys.signing_alg, JwtAlg::kRS256);
  EXPECT_TRUE(verifies(keys.verify, valid_token("RS256", false)));
  EXPECT_FALSE(verifies(keys.verify, valid_token("PS256", false)));
}

TEST(StaticKeys, MismatchesNameTheSetting) {
  StaticKeyConfig config;
  config.public_key_path = key_path("ec256_public.pem");
  config.algorithm = "RS256";
  try {
    load_static_keys(config);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("JWT_ALGORITHM"), std::string::npos) << e.what();
  }
  config.algorithm = "XS256";
  EXPECT_THROW(load_static_keys(config), std::invalid_argument);
  config.algorithm.clear();
  config.private_key_path = key_path("rsa_public.pem");
  try {
    load_static_keys(config);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("JWT_PRIVATE_KEY_PATH"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gatewayd::auth
