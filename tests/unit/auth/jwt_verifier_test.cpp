#include "filters/auth/jwt_verifier.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "auth_fixtures.hpp"
#include "filters/auth/crypto_util.hpp"
#include "filters/auth/jwt_signer.hpp"
#include "filters/auth/key_loader.hpp"

namespace gatewayd::auth {
namespace {

using nlohmann::json;
using testing::at;
using testing::fixture_keys;
using testing::fixture_now;
using testing::key_path;
using testing::tokens;

JwtVerifyOptions strict_options() {
  JwtVerifyOptions o;
  o.leeway = std::chrono::seconds(0);
  o.issuers = {tokens()["issuer"].get<std::string>()};
  o.audiences = {tokens()["audience"].get<std::string>()};
  return o;
}

std::string attack(const std::string& name) {
  return tokens()["attacks"][name].get<std::string>();
}
std::string extra(const std::string& name) {
  return tokens()["extra"][name].get<std::string>();
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  JwtVerifierTest() : keys_(fixture_keys()), verifier_(strict_options()) {}

  JwtResult verify(const std::string& token) const {
    return verifier_.verify(token, keys_, fixture_now());
  }

  KeySet keys_;
  JwtVerifier verifier_;
};

TEST_F(JwtVerifierTest, EveryAlgorithmFromPyJwtVerifies) {
  int count = 0;
  for (const auto& [alg, entry] : tokens()["valid"].items()) {
    for (const char* field : {"token", "token_no_kid"}) {
      auto r = verify(entry[field].get<std::string>());
      ASSERT_TRUE(r.ok()) << alg << " " << field << ": " << jwt_error_name(r.error());
      const Principal& p = r.principal();
      EXPECT_EQ(p.subject, "user-42");
      EXPECT_EQ(p.issuer, "https://issuer.test");
      EXPECT_EQ(p.roles, (std::vector<std::string>{"admin", "reader"}));
      EXPECT_EQ(p.permissions, (std::vector<std::string>{"projects:read", "projects:write"}));
      EXPECT_EQ(p.scopes, (std::vector<std::string>{"read", "write"}));
      EXPECT_EQ(p.auth_method, AuthMethod::kJwt);
      EXPECT_EQ(p.key_id, entry["kid"].get<std::string>());
      ASSERT_TRUE(p.expires_at.has_value());
      EXPECT_EQ(*p.expires_at, at(4102444800));
      ++count;
    }
  }
  EXPECT_EQ(count, 2 * kJwtAlgCount);
}

TEST_F(JwtVerifierTest, TamperedPayloadFailsForEveryAlgorithm) {
  for (const auto& [alg, entry] : tokens()["valid"].items()) {
    auto r = verify(entry["tampered"].get<std::string>());
    ASSERT_FALSE(r.ok()) << alg;
    EXPECT_EQ(r.error(), JwtError::kBadSignature) << alg;
  }
}

TEST_F(JwtVerifierTest, FlippedSignatureBitFailsForEveryAlgorithm) {
  for (const auto& [alg, entry] : tokens()["valid"].items()) {
    std::string token = entry["token"].get<std::string>();
    auto dot = token.rfind('.');
    auto sig = *base64url_decode(token.substr(dot + 1));
    sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x01);
    auto r = verify(token.substr(0, dot + 1) + base64url_encode(sig));
    EXPECT_EQ(r.error(), JwtError::kBadSignature) << alg;
    EXPECT_FALSE(r.ok());
  }
}

TEST_F(JwtVerifierTest, AlgNoneInAnySpellingIsRejected) {
  for (const char* name :
       {"alg_none", "alg_None", "alg_NONE", "alg_none_with_kid", "alg_none_with_signature"}) {
    auto r = verify(attack(name));
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error(), JwtError::kUnsupportedAlg) << name;
  }
}

TEST_F(JwtVerifierTest, Hs256SignedWithTheRsaPublicKeyIsRejected) {
  // With the kid of the RSA key: that key allows only RS*/PS*.
  auto with_kid = verify(attack("hs256_with_rsa_public_key_kid"));
  ASSERT_FALSE(with_kid.ok());
  EXPECT_EQ(with_kid.error(), JwtError::kUnsupportedAlg);
  // Without kid: only the HMAC key allows HS256 and its secret is not the PEM text.
  auto without_kid = verify(attack("hs256_with_rsa_public_key"));
  ASSERT_FALSE(without_kid.ok());
  EXPECT_EQ(without_kid.error(), JwtError::kBadSignature);
  // A deployment with only the RSA key has no key for HS256 at all.
  KeySet rsa_only;
  rsa_only.add(load_key_file(key_path("rsa_public.pem")));
  auto r = verifier_.verify(attack("hs256_with_rsa_public_key"), rsa_only, fixture_now());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), JwtError::kUnsupportedAlg);
}

TEST_F(JwtVerifierTest, EmptyOrStrippedSignatureIsRejected) {
  auto empty = verify(attack("empty_signature"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), JwtError::kBadSignature);
  auto stripped = verify(attack("stripped_signature"));
  ASSERT_FALSE(stripped.ok());
  EXPECT_EQ(stripped.error(), JwtError::kMalformed);
}

TEST_F(JwtVerifierTest, NonBase64UrlCharactersAreRejected) {
  const std::string good = tokens()["valid"]["RS256"]["token"].get<std::string>();
  ASSERT_TRUE(verify(good).ok());
  const auto dot1 = good.find('.');
  const auto dot2 = good.find('.', dot1 + 1);
  std::vector<std::string> bad;
  for (std::size_t pos : {std::size_t{3}, dot1 + 3, dot2 + 3}) {
    for (char c : {'+', '/', '=', ' ', '%', '\n', '\0'}) {
      std::string t = good;
      t[pos] = c;
      bad.push_back(t);
    }
  }
  bad.push_back(good + "=");
  bad.push_back(good + "==");
  bad.push_back(" " + good);
  bad.push_back(good + ".");
  bad.push_back(good + ".abc.def");  // five segments (JWE shape)
  bad.push_back("." + good.substr(dot1));
  bad.push_back(good.substr(0, dot1 + 1) + good.substr(dot2));  // empty payload
  for (const auto& t : bad) {
    auto r = verify(t);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.error() == JwtError::kMalformed) << jwt_error_name(r.error());
  }
  EXPECT_FALSE(verify("").ok());
  EXPECT_FALSE(verify("..").ok());
  EXPECT_FALSE(verify("not a token").ok());
}

TEST_F(JwtVerifierTest, TimeClaims) {
  auto expired = verify(attack("expired"));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error(), JwtError::kExpired);
  auto early = verify(attack("not_yet_valid"));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error(), JwtError::kNotYetValid);
  auto future_iat = verify(attack("issued_in_future"));
  ASSERT_FALSE(future_iat.ok());
  EXPECT_EQ(future_iat.error(), JwtError::kNotYetValid);
  auto bad_type = verify(attack("exp_not_a_number"));
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.error(), JwtError::kMalformed);
  EXPECT_TRUE(verify(extra("float_exp")).ok());
}

TEST_F(JwtVerifierTest, LeewayCoversClockSkewButNoMore) {
  // exp is one hour before "now" in the fixture.
  auto options = strict_options();
  options.leeway = std::chrono::seconds(3601);
  JwtVerifier lenient(options);
  EXPECT_TRUE(lenient.verify(attack("expired"), keys_, fixture_now()).ok());
  EXPECT_TRUE(lenient.verify(attack("not_yet_valid"), keys_, fixture_now()).ok());
  options.leeway = std::chrono::seconds(3600);
  JwtVerifier exact(options);
  EXPECT_EQ(exact.verify(attack("expired"), keys_, fixture_now()).error(), JwtError::kExpired);
  // The token expires at exactly exp: one second before is fine.
  const auto token = tokens()["valid"]["HS256"]["token"].get<std::string>();
  EXPECT_TRUE(verifier_.verify(token, keys_, at(4102444799)).ok());
  EXPECT_EQ(verifier_.verify(token, keys_, at(4102444800)).error(), JwtError::kExpired);
}

TEST_F(JwtVerifierTest, RequiredClaims) {
  auto r = verify(attack("missing_exp"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), JwtError::kMissingClaim);
  auto options = strict_options();
  options.required_claims.clear();
  EXPECT_TRUE(JwtVerifier(options).verify(attack("missing_exp"), keys_, fixture_now()).ok());
  options.required_claims = {"exp", "tenant"};
  auto missing = JwtVerifier(options).verify(extra("aud_array"), keys_, fixture_now());
  EXPECT_EQ(missing.error(), JwtError::kMissingClaim);
}

TEST_F(JwtVerifierTest, IssuerAndAudience) {
  EXPECT_EQ(verify(attack("wrong_iss")).error(), JwtError::kBadIssuer);
  EXPECT_FALSE(verify(attack("wrong_iss")).ok());
  EXPECT_EQ(verify(attack("missing_iss")).error(), JwtError::kMissingClaim);
  EXPECT_EQ(verify(attack("wrong_aud")).error(), JwtError::kBadAudience);
  EXPECT_EQ(verify(attack("wrong_aud_array")).error(), JwtError::kBadAudience);
  EXPECT_FALSE(verify(attack("wrong_aud_array")).ok());
  EXPECT_TRUE(verify(extra("aud_array")).ok());

  // No audience configured: a token naming one is refused unless told otherwise.
  auto options = strict_options();
  options.audiences.clear();
  EXPECT_EQ(JwtVerifier(options).verify(extra("aud_array"), keys_, fixture_now()).error(),
            JwtError::kBadAudience);
  options.reject_unexpected_audience = false;
  EXPECT_TRUE(JwtVerifier(options).verify(extra("aud_array"), keys_, fixture_now()).ok());
  // No issuer list: any issuer.
  options.issuers.clear();
  EXPECT_TRUE(JwtVerifier(options).verify(attack("wrong_iss"), keys_, fixture_now()).ok());
}

TEST_F(JwtVerifierTest, UnknownKidIsDistinct) {
  auto r = verify(attack("unknown_kid"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), JwtError::kUnknownKid);
}

TEST_F(JwtVerifierTest, KeysWithoutKidAcceptAnyKid) {
  KeySet keys;
  keys.add(load_key_file(key_path("rsa_public.pem")));
  EXPECT_TRUE(verifier_.verify(attack("unknown_kid"), keys, fixture_now()).ok());
  // ...but a token from a key we do not have still reads as an unknown kid, so a JWKS
  // refetch can find it.
  auto r = verifier_.verify(extra("rotated_rsa2"), keys, fixture_now());
  EXPECT_EQ(r.error(), JwtError::kUnknownKid);
}

TEST_F(JwtVerifierTest, CritHeaderIsRejected) {
  auto r = verify(attack("crit_header"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), JwtError::kMalformed);
}

TEST_F(JwtVerifierTest, JkuAndEmbeddedJwkNeverChooseTheKey) {
  // Signed by a key we do not trust, telling us where to find it: refused.
  auto r = verify(attack("jku_attacker_key"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), JwtError::kBadSignature);
  auto with_kid = verify(attack("jku_attacker_key_kid"));
  ASSERT_FALSE(with_kid.ok());
  EXPECT_EQ(with_kid.error(), JwtError::kBadSignature);
  // Signed by a configured key: the jku header is simply ignored.
  EXPECT_TRUE(verify(extra("jku_ignored")).ok());
}

TEST_F(JwtVerifierTest, OversizedTokenIsRejectedBeforeDecoding) {
  const std::string token = tokens()["valid"]["HS256"]["token"].get<std::string>();
  auto options = strict_options();
  options.max_token_bytes = token.size();
  EXPECT_TRUE(JwtVerifier(options).verify(token, keys_, fixture_now()).ok());
  options.max_token_bytes = token.size() - 1;
  EXPECT_EQ(JwtVerifier(options).verify(token, keys_, fixture_now()).error(), JwtError::kTooLarge);
  // Default limit 8 KiB, even for garbage that would not decode.
  EXPECT_EQ(verify(std::string(8 * 1024 + 1, '!')).error(), JwtError::kTooLarge);
  // A genuinely signed token that is too big.
  JwtKey key = JwtKey::hmac(testing::hmac_secret(), "hs-1");
  json claims = tokens()["claims"];
  claims["padding"] = std::string(9000, 'x');
  auto big = sign_jwt(json::object(), claims, key, JwtAlg::kHS256);
  ASSERT_TRUE(big);
  EXPECT_EQ(verify(*big).error(), JwtError::kTooLarge);
}

TEST_F(JwtVerifierTest, DeeplyNestedHeaderIsJustMalformed) {
  // As deep as fits under the size limit: parsing must neither recurse nor crash.
  std::string header = base64url_encode(std::string(6000, '['));
  std::string token = header + "." + base64url_encode("{}") + ".c2ln";
  ASSERT_LE(token.size(), 8u * 1024);
  EXPECT_EQ(verify(token).error(), JwtError::kMalformed);
  header = base64url_encode(R"({"alg":"HS256","x":)" + std::string(5000, '[') + "}");
  EXPECT_EQ(verify(header + "." + base64url_encode("{}") + ".c2ln").error(), JwtError::kMalformed);
}

TEST_F(JwtVerifierTest, PayloadMustBeAJsonObject) {
  EXPECT_EQ(verify(attack("payload_not_object")).error(), JwtError::kBadSignature);
  // Correctly signed, but not claims.
  JwtKey key = JwtKey::hmac(testing::hmac_secret(), "hs-1");
  std::string input =
      base64url_encode(R"({"alg":"HS256","kid":"hs-1"})") + "." + base64url_encode("[1,2,3]");
  auto token = input + "." + base64url_encode(*key.sign(JwtAlg::kHS256, input));
  EXPECT_EQ(verify(token).error(), JwtError::kMalformed);
}

TEST_F(JwtVerifierTest, ScpArrayAndNumericUserId) {
  auto r = verify(extra("scp_array_user_id"));
  ASSERT_TRUE(r.ok()) << jwt_error_name(r.error());
  EXPECT_EQ(r.principal().subject, "1234");
  EXPECT_EQ(r.principal().scopes, (std::vector<std::string>{"a:read", "b:write"}));
}

TEST_F(JwtVerifierTest, AlgorithmMustMatchTheKeyCurve) {
  // An ES256 token checked against the P-384 key only (no kid matching possible).
  KeySet keys;
  keys.add(load_key_file(key_path("ec384_public.pem")));
  auto r = verifier_.verify(tokens()["valid"]["ES256"]["token_no_kid"].get<std::string>(), keys,
                            fixture_now());
  EXPECT_EQ(r.error(), JwtError::kUnsupportedAlg);
}

TEST_F(JwtVerifierTest, ConfigurationNarrowsAlgorithms) {
  KeySet keys;
  keys.add(load_key_file(key_path("rsa_public.pem"), "rsa-1").narrowed({JwtAlg::kRS256}));
  EXPECT_TRUE(
      verifier_.verify(tokens()["valid"]["RS256"]["token"].get<std::string>(), keys, fixture_now())
          .ok());
  EXPECT_EQ(
      verifier_.verify(tokens()["valid"]["PS256"]["token"].get<std::string>(), keys, fixture_now())
          .error(),
      JwtError::kUnsupportedAlg);
  EXPECT_THROW(JwtKey::hmac("secret").narrowed({JwtAlg::kRS256}), std::invalid_argument);
}

TEST_F(JwtVerifierTest, MessagesNeverEchoTheToken) {
  for (const auto& [name, token] : tokens()["attacks"].items()) {
    auto r = verify(token.get<std::string>());
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_FALSE(r.message().empty()) << name;
    const std::string t = token.get<std::string>();
    for (std::size_t i = 0; i + 8 <= t.size(); i += 8) {
      ASSERT_EQ(std::string(r.message()).find(t.substr(i, 8)), std::string::npos) << name;
    }
  }
}

TEST_F(JwtVerifierTest, EveryAttackFixtureIsRejected) {
  for (const auto& [name, token] : tokens()["attacks"].items()) {
    EXPECT_FALSE(verify(token.get<std::string>()).ok()) << name;
  }
}

// RFC 7515 appendix A and RFC 8037 appendix A examples. They expired long ago, so they are
// checked at a time before their exp.
class RfcVectorTest : public ::testing::Test {
 protected:
  static json vectors() { return json::parse(testing::read_fixture("rfc_vectors.json")); }
};

TEST_F(RfcVectorTest, Rfc7515ExamplesVerify) {
  JwtVerifyOptions options;
  options.leeway = std::chrono::seconds(0);
  options.issuers = {"joe"};
  JwtVerifier verifier(options);
  for (const char* name : {"rfc7515_a1_hs256", "rfc7515_a2_rs256", "rfc7515_a3_es256"}) {
    const json v = vectors()[name];
    KeySet keys;
    keys.add(jwk_to_key(v["jwk"]));
    const std::string token = v["token"].get<std::string>();
    auto r = verifier.verify(token, keys, at(1300819000));
    ASSERT_TRUE(r.ok()) << name << ": " << jwt_error_name(r.error());
    EXPECT_EQ(r.principal().issuer, "joe");
    // Their exp is 2011-03-22T18:43:00Z.
    EXPECT_EQ(verifier.verify(token, keys, at(1300819380)).error(), JwtError::kExpired) << name;
    // One changed payload byte breaks each.
    std::string tampered = token;
    tampered[tampered.find('.') + 5] ^= 0x01;
    EXPECT_FALSE(verifier.verify(tampered, keys, at(1300819000)).ok()) << name;
  }
}

TEST_F(RfcVectorTest, Rfc8037Ed25519Example) {
  const json v = vectors()["rfc8037_a4_ed25519"];
  JwtKey key = jwk_to_key(v["jwk"]);
  EXPECT_EQ(key.algorithms(), AlgSet{JwtAlg::kEdDSA});
  const std::string token = v["token"].get<std::string>();
  const auto dot = token.rfind('.');
  const std::string input = token.substr(0, dot);
  const std::string signature = *base64url_decode(token.substr(dot + 1));
  EXPECT_TRUE(key.verify(JwtAlg::kEdDSA, input, signature));
  EXPECT_FALSE(key.verify(JwtAlg::kEdDSA, input + "x", signature));
  // Its payload is the text "Example of Ed25519 signing", not claims: the signature holds but
  // the token is not a JWT.
  KeySet keys;
  keys.add(key);
  EXPECT_EQ(JwtVerifier().verify(token, keys, at(0)).error(), JwtError::kMalformed);

  // Ed25519 is deterministic: the private key from the RFC reproduces the signature exactly.
  const std::string d = *base64url_decode(v["private_d"].get<std::string>());
  PkeyPtr priv(EVP_PKEY_new_raw_private_key_ex(
      nullptr, "ED25519", nullptr, reinterpret_cast<const unsigned char*>(d.data()), d.size()));
  ASSERT_TRUE(priv);
  JwtKey signer = JwtKey::from_pkey(std::move(priv), true);
  EXPECT_EQ(signer.sign(JwtAlg::kEdDSA, input), signature);
}

}  // namespace
}  // namespace gatewayd::auth
