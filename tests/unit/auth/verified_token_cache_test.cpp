#include "filters/auth/verified_token_cache.hpp"

#include <gtest/gtest.h>

#include "auth_fixtures.hpp"
#include "filters/auth/jwt_authenticator.hpp"
#include "filters/auth/jwt_signer.hpp"

namespace gatewayd::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::at;

Principal principal_until(std::optional<SystemTime> exp) {
  Principal p;
  p.subject = "u1";
  p.roles = {"admin"};
  p.expires_at = exp;
  return p;
}

TEST(VerifiedTokenCache, HitReturnsThePrincipal) {
  VerifiedTokenCache cache;
  auto keys = std::make_shared<const KeySet>();
  const auto now = at(1000);
  cache.insert("token-a", keys, principal_until(at(2000)), now);
  auto hit = cache.find("token-a", keys, now + 1s);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->subject, "u1");
  EXPECT_FALSE(cache.find("token-b", keys, now + 1s));
  EXPECT_FALSE(cache.find("token-a ", keys, now + 1s));
}

TEST(VerifiedTokenCache, NeverOutlivesExp) {
  VerifiedTokenCache cache({.capacity = 100, .ttl = 60s});
  auto keys = std::make_shared<const KeySet>();
  cache.insert("t", keys, principal_until(at(1010)), at(1000));
  EXPECT_TRUE(cache.find("t", keys, at(1009)));
  EXPECT_FALSE(cache.find("t", keys, at(1010)));
  // Already expired at insertion: not stored at all.
  cache.insert("old", keys, principal_until(at(999)), at(1000));
  EXPECT_FALSE(cache.find("old", keys, at(1000)));
}

TEST(VerifiedTokenCache, TtlBoundsTokensWithoutOrWithFarExp) {
  VerifiedTokenCache cache({.capacity = 100, .ttl = 60s});
  auto keys = std::make_shared<const KeySet>();
  cache.insert("far", keys, principal_until(at(100000)), at(1000));
  cache.insert("none", keys, principal_until(std::nullopt), at(1000));
  EXPECT_TRUE(cache.find("far", keys, at(1059)));
  EXPECT_TRUE(cache.find("none", keys, at(1059)));
  EXPECT_FALSE(cache.find("far", keys, at(1060)));
  EXPECT_FALSE(cache.find("none", keys, at(1060)));
}

TEST(VerifiedTokenCache, ANewKeySetInvalidatesEntries) {
  VerifiedTokenCache cache;
  auto keys = std::make_shared<const KeySet>();
  cache.insert("t", keys, principal_until(at(5000)), at(1000));
  auto rotated = std::make_shared<const KeySet>();
  EXPECT_FALSE(cache.find("t", rotated, at(1001)));
  EXPECT_FALSE(cache.find("t", keys, at(1001)));  // the stale entry was dropped
}

TEST(VerifiedTokenCache, ClockGoingBackwardsMisses) {
  VerifiedTokenCache cache;
  auto keys = std::make_shared<const KeySet>();
  cache.insert("t", keys, principal_until(at(5000)), at(1000));
  EXPECT_FALSE(cache.find("t", keys, at(999)));
}

TEST(VerifiedTokenCache, SizeIsBounded) {
  VerifiedTokenCache cache({.capacity = 64, .ttl = 60s});
  auto keys = std::make_shared<const KeySet>();
  for (int i = 0; i < 5000; ++i) {
    cache.insert("token-" + std::to_string(i), keys, principal_until(at(5000)), at(1000));
  }
  EXPECT_LE(cache.size(), 64u);
  EXPECT_GT(cache.size(), 0u);
  // The most recent ones are kept.
  EXPECT_TRUE(cache.find("token-4999", keys, at(1001)));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  VerifiedTokenCache off({.capacity = 0, .ttl = 60s});
  off.insert("t", keys, principal_until(at(5000)), at(1000));
  EXPECT_FALSE(off.find("t", keys, at(1000)));
}

TEST(JwtAuthenticator, CachedTokensStillExpire) {
  auto keys = std::make_shared<KeySet>();
  JwtKey key = JwtKey::hmac("cache-test-secret", "k");
  keys->add(key);
  auto cache = std::make_shared<VerifiedTokenCache>(VerifiedTokenCache::Options{1000, 3600s});
  JwtVerifyOptions options;
  options.leeway = 0s;
  JwtAuthenticator auth(options, keys, nullptr, cache);
  auto token = sign_jwt(json::object(), json{{"sub", "u"}, {"exp", 1100}}, key, JwtAlg::kHS256);
  ASSERT_TRUE(token);
  EXPECT_TRUE(auth.authenticate(*token, at(1000)).ok());
  EXPECT_EQ(cache->size(), 1u);
  EXPECT_TRUE(auth.authenticate(*token, at(1099)).ok());
  EXPECT_EQ(auth.authenticate(*token, at(1100)).error(), JwtError::kExpired);
  EXPECT_EQ(auth.authenticate(*token, at(100000)).error(), JwtError::kExpired);
}

TEST(JwtAuthenticator, FailuresAreNotCachedAndOversizeIsCheap) {
  auto keys = std::make_shared<KeySet>();
  keys->add(JwtKey::hmac("cache-test-secret"));
  auto cache = std::make_shared<VerifiedTokenCache>();
  JwtAuthenticator auth(JwtVerifyOptions{}, keys, nullptr, cache);
  EXPECT_EQ(auth.authenticate("a.b.c", at(1000)).error(), JwtError::kMalformed);
  EXPECT_EQ(auth.authenticate(std::string(10000, 'a'), at(1000)).error(), JwtError::kTooLarge);
  EXPECT_EQ(cache->size(), 0u);
}

TEST(JwtAuthenticator, WorksWithoutCacheAndWithFixtures) {
  auto keys = std::make_shared<KeySet>(testing::fixture_keys());
  JwtVerifyOptions options;
  options.audiences = {"gatewayd"};
  JwtAuthenticator auth(options, keys);
  for (const auto& [alg, entry] : testing::tokens()["valid"].items()) {
    EXPECT_TRUE(auth.authenticate(entry["token"].get<std::string>(), testing::fixture_now()).ok())
        << alg;
  }
  bool called = false;
  auth.authenticate_with_refetch(testing::tokens()["attacks"]["unknown_kid"].get<std::string>(),
                                 testing::fixture_now(), [&](JwtResult r) {
                                   called = true;
                                   EXPECT_EQ(r.error(), JwtError::kUnknownKid);
                                 });
  EXPECT_TRUE(called);  // no JWKS: answered inline
}

}  // namespace
}  // namespace gatewayd::auth
