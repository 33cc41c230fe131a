#include "filters/auth/jwks_cache.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "auth_fixtures.hpp"
#include "filters/auth/jwt_authenticator.hpp"
#include "filters/auth/jwt_signer.hpp"

namespace gatewayd::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::fixture_now;
using testing::read_fixture;
using testing::tokens;

// A JWKS "server" for the cache: serves whatever document it currently holds and counts calls.
class FakeJwksSource {
 public:
  explicit FakeJwksSource(std::optional<std::string> doc) : doc_(std::move(doc)) {}

  JwksCache::Fetcher fetcher() {
    return [this]() -> std::optional<std::string> {
      std::unique_lock lock(mu_);
      ++calls_;
      cv_.notify_all();
      // Lets a test hold a fetch open while requests pile up (bounded, never a hang).
      cv_.wait_for(lock, 10s, [this] { return !hold_; });
      if (throw_) throw std::runtime_error("connection refused");
      return doc_;
    };
  }
  void set(std::optional<std::string> doc) {
    std::lock_guard lock(mu_);
    doc_ = std::move(doc);
  }
  void set_throw(bool t) {
    std::lock_guard lock(mu_);
    throw_ = t;
  }
  void hold(bool h) {
    {
      std::lock_guard lock(mu_);
      hold_ = h;
    }
    cv_.notify_all();
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  bool wait_for_calls(int n, std::chrono::seconds limit = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return calls_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> doc_;
  int calls_ = 0;
  bool hold_ = false;
  bool throw_ = false;
};

JwtVerifyOptions fixture_options() {
  JwtVerifyOptions o;
  o.audiences = {"gatewayd"};
  return o;
}

std::string rotated_token() {
  return tokens()["extra"]["rotated_rsa2"].get<std::string>();
}
std::string rs256_token() {
  return tokens()["valid"]["RS256"]["token"].get<std::string>();
}

// Waits for an asynchronous authentication result, bounded.
JwtResult wait_result(const JwtAuthenticator& auth, const std::string& token) {
  std::promise<JwtResult> promise;
  auto future = promise.get_future();
  auth.authenticate_with_refetch(token, fixture_now(),
                                 [&promise](JwtResult r) { promise.set_value(std::move(r)); });
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within 10 s";
    return JwtResult::failure(JwtError::kMalformed, "timeout");
  }
  return future.get();
}

TEST(JwksCache, ServesTheFetchedKeysWithTheStaticOnes) {
  FakeJwksSource source(read_fixture("jwks.json"));
  JwksCache::Options options;
  options.static_keys.add(JwtKey::hmac("static-secret", "static"));
  JwksCache cache(options, source.fetcher());
  EXPECT_EQ(cache.keys()->size(), 1u);
  EXPECT_FALSE(cache.age_seconds());
  ASSERT_TRUE(cache.refresh_now());
  EXPECT_EQ(cache.keys()->size(), 7u);
  EXPECT_TRUE(cache.keys()->has_kid("static"));
  EXPECT_TRUE(cache.keys()->has_kid("rsa-1"));
  ASSERT_TRUE(cache.age_seconds());
  EXPECT_GE(*cache.age_seconds(), 0.0);
}

TEST(JwksCache, RotationIsPickedUpThroughTheUnknownKidRefetch) {
  FakeJwksSource source(read_fixture("jwks.json"));
  auto cache = std::make_shared<JwksCache>(JwksCache::Options{}, source.fetcher());
  ASSERT_TRUE(cache->refresh_now());
  cache->start();
  JwtAuthenticator auth(fixture_options(), nullptr, cache);
  EXPECT_TRUE(auth.authenticate(rs256_token(), fixture_now()).ok());
  EXPECT_EQ(auth.authenticate(rotated_token(), fixture_now()).error(), JwtError::kUnknownKid);

  // The issuer rotates to a new key and publishes it.
  source.set(read_fixture("jwks_rotated.json"));
  auto r = wait_result(auth, rotated_token());
  ASSERT_TRUE(r.ok()) << jwt_error_name(r.error());
  EXPECT_EQ(r.principal().key_id, "rsa-2");
  EXPECT_EQ(source.calls(), 2);
  EXPECT_EQ(cache->stats().unknown_kid_fetches, 1u);
  // The old key is gone from the published set.
  EXPECT_EQ(auth.authenticate(rs256_token(), fixture_now()).error(), JwtError::kUnknownKid);
}

TEST(JwksCache, BurstWithANewKidTriggersAtMostOneFetch) {
  FakeJwksSource source(read_fixture("jwks.json"));
  auto cache = std::make_shared<JwksCache>(JwksCache::Options{}, source.fetcher());
  ASSERT_TRUE(cache->refresh_now());
  cache->start();
  JwtAuthenticator auth(fixture_options(), nullptr, cache, std::make_shared<VerifiedTokenCache>());
  source.set(read_fixture("jwks_rotated.json"));
  // The fetch stays open until the burst has been issued, so the burst overlaps it.
  source.hold(true);

  constexpr int kThreads = 8;
  constexpr int kPerThread = 125;
  std::atomic<int> issued{0}, answered{0}, ok{0};
  std::mutex mu;
  std::condition_variable all_answered;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auth.authenticate_with_refetch(rotated_token(), fixture_now(), [&](JwtResult r) {
          if (r.ok()) ok.fetch_add(1);
          if (answered.fetch_add(1) + 1 == kThreads * kPerThread) {
            std::lock_guard lock(mu);
            all_answered.notify_all();
          }
        });
        issued.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(issued.load(), kThreads * kPerThread);
  source.hold(false);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(
        all_answered.wait_for(lock, 10s, [&] { return answered.load() == kThreads * kPerThread; }));
  }
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(source.calls(), 2);  // start-up + exactly one refetch
  EXPECT_EQ(cache->stats().unknown_kid_fetches, 1u);
}

TEST(JwksCache, MadeUpKidsCostAtMostOneFetchPerInterval) {
  FakeJwksSource source(read_fixture("jwks.json"));
  auto cache = std::make_shared<JwksCache>(JwksCache::Options{}, source.fetcher());
  ASSERT_TRUE(cache->refresh_now());
  cache->start();
  JwtAuthenticator auth(fixture_options(), nullptr, cache);
  JwtKey attacker = JwtKey::hmac("attacker");
  json claims = tokens()["claims"];
  std::atomic<int> unknown{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        auto token =
            sign_jwt(json::object(), claims,
                     attacker.with_kid("kid-" + std::to_string(t * 1000 + i)), JwtAlg::kHS256);
        if (wait_result(auth, *token).error() == JwtError::kUnknownKid) unknown.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unknown.load(), 1000);
  EXPECT_LE(source.calls(), 2);
  EXPECT_LE(cache->stats().unknown_kid_fetches, 1u);
  EXPECT_GE(cache->stats().rate_limited, 1u);
}

TEST(JwksCache, FailedFetchesKeepTheLastGoodKeys) {
  FakeJwksSource source(read_fixture("jwks.json"));
  JwksCache cache(JwksCache::Options{}, source.fetcher());
  ASSERT_TRUE(cache.refresh_now());
  auto good = cache.keys();
  JwtVerifier verifier(fixture_options());
  const std::vector<std::optional<std::string>> bad = {
      std::nullopt, std::string("{"), std::string(R"({"keys": []})"),
      std::string(R"({"keys": [{"kty": "RSA", "use": "enc"}]})"), std::string("<html>")};
  std::uint64_t failures = 0;
  for (const auto& doc : bad) {
    source.set(doc);
    EXPECT_FALSE(cache.refresh_now());
    EXPECT_EQ(cache.keys(), good);
    EXPECT_FALSE(cache.last_error().empty());
    EXPECT_EQ(cache.stats().failures, ++failures);
    EXPECT_TRUE(verifier.verify(rs256_token(), *cache.keys(), fixture_now()).ok());
  }
  source.set_throw(true);
  EXPECT_FALSE(cache.refresh_now());
  EXPECT_EQ(cache.keys(), good);
  // The server comes back.
  source.set_throw(false);
  source.set(read_fixture("jwks.json"));
  EXPECT_TRUE(cache.refresh_now());
  EXPECT_TRUE(cache.last_error().empty());
}

TEST(JwksCache, UnknownKidWhileTheServerIsDownIsRejected) {
  FakeJwksSource source(read_fixture("jwks.json"));
  auto cache = std::make_shared<JwksCache>(JwksCache::Options{}, source.fetcher());
  ASSERT_TRUE(cache->refresh_now());
  cache->start();
  source.set(std::nullopt);
  JwtAuthenticator auth(fixture_options(), nullptr, cache);
  auto r = wait_result(auth, tokens()["attacks"]["unknown_kid"].get<std::string>());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), JwtError::kUnknownKid);
  EXPECT_EQ(source.calls(), 2);
  EXPECT_TRUE(auth.authenticate(rs256_token(), fixture_now()).ok());
}

TEST(JwksCache, UnchangedDocumentKeepsTheSameSet) {
  FakeJwksSource source(read_fixture("jwks.json"));
  JwksCache cache(JwksCache::Options{}, source.fetcher());
  ASSERT_TRUE(cache.refresh_now());
  auto first = cache.keys();
  ASSERT_TRUE(cache.refresh_now());
  EXPECT_EQ(cache.keys(), first);  // so verified-token cache entries stay valid
  EXPECT_EQ(cache.stats().key_set_changes, 1u);
  EXPECT_EQ(cache.stats().fetches, 2u);
}

TEST(JwksCache, BackgroundRefreshRunsBeforeExpiry) {
  FakeJwksSource source(read_fixture("jwks.json"));
  JwksCache::Options options;
  options.ttl = 100ms;
  options.refresh_ahead = 0.5;
  JwksCache cache(options, source.fetcher());
  cache.start();  // first fetch at once, then every 50 ms
  ASSERT_TRUE(source.wait_for_calls(3));
  EXPECT_TRUE(cache.keys()->has_kid("rsa-1"));
  source.set(read_fixture("jwks_rotated.json"));
  const int seen = source.calls();
  ASSERT_TRUE(source.wait_for_calls(seen + 2));
  cache.stop();
  EXPECT_TRUE(cache.keys()->has_kid("rsa-2"));
  EXPECT_EQ(cache.stats().unknown_kid_fetches, 0u);
}

TEST(JwksCache, RetriesSoonAfterAFailedStartUpFetch) {
  FakeJwksSource source(std::nullopt);
  JwksCache::Options options;
  options.retry_interval = 10ms;
  JwksCache cache(options, source.fetcher());
  cache.start();
  ASSERT_TRUE(source.wait_for_calls(2));
  source.set(read_fixture("jwks.json"));
  // After a success the next fetch is minutes away, so poll for the published set instead.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!cache.keys()->has_kid("rsa-1") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(cache.keys()->has_kid("rsa-1"));
  EXPECT_GE(cache.stats().failures, 2u);
  cache.stop();
}

TEST(JwksCache, CallersAreAnsweredWhenNotStartedOrStopped) {
  FakeJwksSource source(read_fixture("jwks.json"));
  JwksCache cache(JwksCache::Options{}, source.fetcher());
  bool called = false;
  cache.refetch_unknown_kid([&] { called = true; });
  EXPECT_TRUE(called);
  EXPECT_EQ(source.calls(), 0);

  cache.start();
  ASSERT_TRUE(source.wait_for_calls(1));
  source.hold(true);
  std::promise<void> answered;
  // The first refetch request starts a fetch that is held open; stop() must still answer the
  // caller parked on it once the fetch returns.
  cache.refetch_unknown_kid([&] { answered.set_value(); });
  ASSERT_TRUE(source.wait_for_calls(2));
  std::thread releaser([&] { source.hold(false); });
  cache.stop();
  releaser.join();
  EXPECT_EQ(answered.get_future().wait_for(0s), std::future_status::ready);
}

}  // namespace
}  // namespace gatewayd::auth
