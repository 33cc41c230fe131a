#include "filters/auth/jwt_signer.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "auth_fixtures.hpp"
#include "filters/auth/jwt_verifier.hpp"

namespace gatewayd::auth {
namespace {

using nlohmann::json;
using testing::fixture_keys;
using testing::fixture_now;
using testing::key_path;

struct SigningCase {
  JwtAlg alg;
  const char* private_file;  // nullptr = the HMAC secret
  const char* kid;
};

const SigningCase kCases[] = {
    {JwtAlg::kHS256, nullptr, "hs-1"},
    {JwtAlg::kHS384, nullptr, "hs-1"},
    {JwtAlg::kHS512, nullptr, "hs-1"},
    {JwtAlg::kRS256, "rsa_private.pem", "rsa-1"},
    {JwtAlg::kRS384, "rsa_private.pem", "rsa-1"},
    {JwtAlg::kRS512, "rsa_private.pem", "rsa-1"},
    {JwtAlg::kPS256, "rsa_private.pem", "rsa-1"},
    {JwtAlg::kPS384, "rsa_private.pem", "rsa-1"},
    {JwtAlg::kPS512, "rsa_private.pem", "rsa-1"},
    {JwtAlg::kES256, "ec256_private.pem", "ec256-1"},
    {JwtAlg::kES384, "ec384_private.pem", "ec384-1"},
    {JwtAlg::kES512, "ec521_private.pem", "ec521-1"},
    {JwtAlg::kEdDSA, "ed25519_private.pem", "ed-1"},
};

JwtKey signing_key(const SigningCase& c) {
  if (c.private_file == nullptr) return JwtKey::hmac(testing::hmac_secret(), c.kid);
  return load_key_file(key_path(c.private_file), c.kid);
}

json claims() {
  return json{{"sub", "svc"},      {"iss", "https://issuer.test"},
              {"aud", "gatewayd"}, {"exp", 4102444800LL},
              {"iat", 1700000000}, {"roles", {"a"}}};
}

TEST(JwtSigner, EveryAlgorithmRoundTrips) {
  KeySet keys = fixture_keys();
  JwtVerifyOptions options;
  options.audiences = {"gatewayd"};
  JwtVerifier verifier(options);
  for (const auto& c : kCases) {
    auto token = sign_jwt(json{{"cty", "x"}}, claims(), signing_key(c), c.alg);
    ASSERT_TRUE(token) << jwt_alg_name(c.alg);
    auto header = json::parse(*base64url_decode(token->substr(0, token->find('.'))));
    EXPECT_EQ(header["alg"], jwt_alg_name(c.alg));
    EXPECT_EQ(header["kid"], c.kid);
    EXPECT_EQ(header["typ"], "JWT");
    auto r = verifier.verify(*token, keys, fixture_now());
    ASSERT_TRUE(r.ok()) << jwt_alg_name(c.alg) << ": " << jwt_error_name(r.error());
    EXPECT_EQ(r.principal().subject, "svc");
  }
}

TEST(JwtSigner, RefusesKeysThatCannotSign) {
  JwtKey pub = load_key_file(key_path("rsa_public.pem"));
  EXPECT_FALSE(sign_jwt(json::object(), claims(), pub, JwtAlg::kRS256));
  JwtKey rsa = load_key_file(key_path("rsa_private.pem"));
  EXPECT_FALSE(sign_jwt(json::object(), claims(), rsa, JwtAlg::kHS256));
  EXPECT_FALSE(sign_jwt(json::object(), claims(), rsa, JwtAlg::kES256));
  EXPECT_FALSE(sign_jwt(json::object(), json::array(), rsa, JwtAlg::kRS256));
  EXPECT_THROW(JwtSigner(pub, JwtAlg::kRS256), std::invalid_argument);
  EXPECT_THROW(JwtSigner(rsa, JwtAlg::kHS256), std::invalid_argument);
  JwtSigner signer(rsa, JwtAlg::kPS256);
  EXPECT_TRUE(signer.sign(claims()));
}

TEST(JwtSigner, HeaderCannotSmuggleKeyReferences) {
  JwtKey key = JwtKey::hmac("secret", "k1");
  auto token =
      sign_jwt(json{{"jku", "https://x"}, {"crit", {"b64"}}, {"kid", "other"}, {"alg", "none"}},
               claims(), key, JwtAlg::kHS256);
  ASSERT_TRUE(token);
  auto header = json::parse(*base64url_decode(token->substr(0, token->find('.'))));
  EXPECT_FALSE(header.contains("jku"));
  EXPECT_FALSE(header.contains("crit"));
  EXPECT_EQ(header["kid"], "k1");
  EXPECT_EQ(header["alg"], "HS256");
}

// Tokens the gateway issues must verify with an independent implementation (python3-jwt).
TEST(JwtSigner, PyJwtAcceptsOurTokens) {
  if (std::system("/usr/bin/python3 -c 'import jwt' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-jwt is not installed";
  }
  auto dir =
      std::filesystem::temp_directory_path() / ("gw_auth_pyjwt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  json list = json::array();
  for (const auto& c : kCases) {
    auto token = sign_jwt(json::object(), claims(), signing_key(c), c.alg);
    ASSERT_TRUE(token);
    std::string verify_key =
        c.private_file == nullptr
            ? testing::hmac_secret()
            : testing::read_fixture(
                  std::string("keys/") +
                  std::string(c.private_file)
                      .replace(std::string(c.private_file).find("private"), 7, "public"));
    list.push_back(json{{"alg", jwt_alg_name(c.alg)}, {"token", *token}, {"key", verify_key}});
  }
  std::ofstream(dir / "tokens.json") << list.dump();
  std::ofstream(dir / "check.py")
      << "import json, sys, jwt\n"
         "for t in json.load(open(sys.argv[1])):\n"
         "    jwt.decode(t['token'], t['key'], algorithms=[t['alg']], audience='gatewayd')\n";
  std::string cmd =
      "/usr/bin/python3 " + (dir / "check.py").string() + " " + (dir / "tokens.json").string();
  int rc = std::system(cmd.c_str());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace gatewayd::auth
