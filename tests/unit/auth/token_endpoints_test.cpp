// POST /auth/token, /auth/refresh and /auth/revoke against both refresh token stores: a real
// redis-server (tests/support/redis_server.hpp) and the single-instance memory store. Issue
// (internal client credential only), refresh with rotation, reuse detection revoking the
// family, revoke of a token or a family, expiry, rotation disabled, the error shapes, audit
// records, and Redis going away.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include "filters/auth/token_endpoints.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "auth_fixtures.hpp"
#include "auth_test_util.hpp"
#include "filters/auth/auth_runtime.hpp"
#include "filters/auth/memory_refresh_token_store.hpp"
#include "gatewayd/metrics.hpp"
#include "support/redis_server.hpp"

namespace gatewayd::auth {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::AuditCapture;
using testing::make_settings;
using testing::ManualClock;

constexpr const char* kSecret = "token-test-signing-secret-0123456789";
constexpr const char* kClientSecret = "internal-client-secret";

struct Answer {
  unsigned status = 0;
  json body;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
  std::string reason() const {
    return body.contains("error") ? body["error"]["details"].value("reason", "") : "";
  }
};

class TokenEndpointsTest : public ::testing::TestWithParam<std::string> {
 protected:
  TokenEndpointsTest() : clock_(testing::at(1'800'000'000)) {}

  bool redis() const { return GetParam() == "redis"; }

  void SetUp() override {
    if (redis()) {
      if (!test::redis_installed()) GTEST_SKIP() << "redis-server not installed";
      redis_ = std::make_unique<test::RedisServer>();
    }
    build({});
  }

  void TearDown() override {
    endpoint_.reset();
    runtime_.reset();
    for (auto& c : clients_) c->stop();
  }

  void build(std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> values{{"JWT_SECRET_KEY", kSecret},
                                              {"JWT_ISSUER", "https://gateway.test"},
                                              {"JWT_AUDIENCE", "services"},
                                              {"AUTH_TOKEN_CLIENT_SECRET", kClientSecret}};
    if (redis()) {
      values["REDIS_ENABLED"] = "true";
      values["REDIS_HOST"] = redis_->host();
      values["REDIS_PORT"] = std::to_string(redis_->port());
      // Generous: a loaded machine must not turn these into failure-mode tests.
      values["REDIS_TIMEOUT_MS"] = "2000";
    }
    for (auto& [k, v] : extra) values[k] = v;
    AuthRuntimeOptions options;
    options.registry = &registry_;
    options.clock = clock_.fn();
    if (redis()) {
      const RedisOptions base = redis_options_from_settings(make_settings(values));
      options.redis_client = [this, base](boost::asio::any_io_executor ex) {
        RedisOptions o = base;
        o.reconnect_min = 20ms;
        o.reconnect_max = 200ms;
        auto c = RedisClient::create(std::move(ex), o);
        clients_.push_back(c);
        return c;
      };
    }
    endpoint_.reset();
    runtime_ = std::make_unique<AuthRuntime>(make_settings(values), &audit_, std::move(options));
    endpoint_ = runtime_->make_token_endpoints(io_.get_executor());
  }

  Answer call(std::string_view method, std::string_view path, const std::string& body,
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request_header<> head;
    for (const auto& [k, v] : headers) head.set(k, v);
    LocalRequest req;
    req.method = method;
    req.path = path;
    req.head = &head;
    req.body = body;
    req.client_ip = "198.51.100.2";
    req.request_id = "rid-1";
    req.user_agent = "auth-service/1.0";
    LocalResponse r = testing::run(io_, endpoint_->handle(req));
    Answer a;
    a.status = r.status;
    a.body = json::parse(r.body);
    a.headers = r.headers;
    return a;
  }

  static std::vector<std::pair<std::string, std::string>> client() {
    return {{"Authorization", std::string("Bearer ") + kClientSecret}};
  }

  json grant() const {
    return json{{"sub", "user-9"},
                {"roles", {"editor"}},
                {"permissions", {"docs:write"}},
                {"scope", "read write"},
                {"tenant_id", "acme"}};
  }

  Answer issue() { return call("POST", "/auth/token", grant().dump(), client()); }
  Answer refresh(const std::string& token) {
    return call("POST", "/auth/refresh", json{{"refresh_token", token}}.dump());
  }
  Answer revoke(const std::string& token, bool family = false) {
    return call("POST", "/auth/revoke", json{{"refresh_token", token}, {"family", family}}.dump());
  }

  // Makes every stored refresh token expire now: the memory store follows the clock, Redis
  // follows its own TTLs (PEXPIREAT in the past deletes at once).
  void expire_everything() {
    if (!redis()) {
      clock_.advance(std::chrono::hours(24 * 7) + 1s);
      return;
    }
    std::string keys = redis_->cli({"--raw", "KEYS", "gatewayd:rt:*"});
    std::istringstream in(keys);
    std::string key;
    while (std::getline(in, key)) {
      if (!key.empty()) redis_->cli({"PEXPIREAT", key, "1"});
    }
  }

  boost::asio::io_context io_;
  std::unique_ptr<test::RedisServer> redis_;
  std::vector<std::shared_ptr<RedisClient>> clients_;
  metrics::Registry registry_;
  AuditCapture audit_;
  ManualClock clock_;
  std::unique_ptr<AuthRuntime> runtime_;
  std::shared_ptr<LocalEndpoint> endpoint_;
};

TEST_P(TokenEndpointsTest, OwnsTheThreePaths) {
  EXPECT_TRUE(endpoint_->owns("/auth/token"));
  EXPECT_TRUE(endpoint_->owns("/auth/refresh"));
  EXPECT_TRUE(endpoint_->owns("/auth/revoke"));
  EXPECT_FALSE(endpoint_->owns("/auth"));
  EXPECT_FALSE(endpoint_->owns("/auth/token/x"));
  EXPECT_FALSE(endpoint_->owns("/health"));
}

TEST_P(TokenEndpointsTest, OnlyPost) {
  const Answer a = call("GET", "/auth/token", "");
  EXPECT_EQ(a.status, 405u);
  EXPECT_EQ(a.header("Allow"), "POST");
  EXPECT_EQ(a.body["error"]["code"], "METHOD_NOT_ALLOWED");
  EXPECT_EQ(a.body["request_id"], "rid-1");
}

TEST_P(TokenEndpointsTest, IssueNeedsAnInternalClientCredential) {
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {},
           {{"Authorization", "Bearer wrong-secret"}},
           {{"Authorization", std::string("Basic ") + kClientSecret}}}) {
    const Answer a = call("POST", "/auth/token", grant().dump(), headers);
    EXPECT_EQ(a.status, 401u);
    EXPECT_EQ(a.body["error"]["code"], "UNAUTHORIZED");
    EXPECT_EQ(a.reason(), "INVALID_CLIENT");
    EXPECT_FALSE(a.body.dump().find(kClientSecret) != std::string::npos);
  }
  const auto failures = audit_.of_type("token_request_failed");
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(json::parse(failures[0].details_json)["reason"], "INVALID_CLIENT");
  EXPECT_EQ(failures[0].ip_address, "198.51.100.2");
  EXPECT_TRUE(audit_.of_type("token_issued").empty());
}

TEST_P(TokenEndpointsTest, ApiKeyWithTheIssueScopeMayIssue) {
  const GeneratedApiKey with = generate_api_key();
  const GeneratedApiKey without = generate_api_key();
  ApiKeyRecord a;
  a.key_hash = with.hash_hex;
  a.user_id = "auth-service";
  a.scopes = {"auth:token"};
  ApiKeyRecord b;
  b.key_hash = without.hash_hex;
  b.user_id = "reporting";
  b.scopes = {"read"};
  runtime_->api_keys()->set_file_records({a, b});

  EXPECT_EQ(call("POST", "/auth/token", grant().dump(), {{"X-API-Key", with.key}}).status, 200u);
  EXPECT_EQ(call("POST", "/auth/token", grant().dump(), {{"X-API-Key", without.key}}).status, 401u);
  EXPECT_EQ(
      call("POST", "/auth/token", grant().dump(), {{"Authorization", "ApiKey " + with.key}}).status,
      200u);
  const auto issued = audit_.of_type("token_issued");
  ASSERT_EQ(issued.size(), 2u);
  EXPECT_EQ(json::parse(issued[0].details_json)["client"], "auth-service");
}

TEST_P(TokenEndpointsTest, IssueAnswersAVerifiableAccessTokenAndARefreshToken) {
  const Answer a = issue();
  ASSERT_EQ(a.status, 200u) << a.body.dump();
  EXPECT_EQ(a.body["token_type"], "Bearer");
  EXPECT_EQ(a.body["expires_in"], 30 * 60);
  EXPECT_EQ(a.body["refresh_expires_in"], 7 * 24 * 3600);
  EXPECT_EQ(a.header("Cache-Control"), "no-store");
  EXPECT_EQ(a.header("Content-Type"), "application/json");
  const std::string refresh_token = a.body["refresh_token"];
  EXPECT_TRUE(parse_refresh_token(refresh_token).has_value());

  // The gateway's own verifier (same settings) accepts what it issued.
  JwtResult v = runtime_->authenticator()->authenticate(a.body["access_token"].get<std::string>(),
                                                        clock_.now());
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(v.principal().subject, "user-9");
  EXPECT_EQ(v.principal().tenant_id, "acme");
  EXPECT_EQ(v.principal().roles, (std::vector<std::string>{"editor"}));
  EXPECT_EQ(v.principal().scopes, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(v.principal().issuer, "https://gateway.test");

  const auto issued = audit_.of_type("token_issued");
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued[0].user_id, "user-9");
  EXPECT_EQ(issued[0].request_id, "rid-1");
  EXPECT_EQ(json::parse(issued[0].details_json)["store"], GetParam());
  // Tokens never reach the audit trail.
  EXPECT_EQ(issued[0].details_json.find(refresh_token), std::string::npos);
}

TEST_P(TokenEndpointsTest, IssueRefusesBadGrants) {
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), json{{"roles", {"a"}}}.dump(),
        json{{"sub", ""}}.dump(), json{{"sub", "u"}, {"roles", "admin"}}.dump(),
        json{{"sub", "u"}, {"permissions", {1, 2}}}.dump(),
        json{{"sub", std::string(300, 'x')}}.dump(),
        json{{"sub", "u"}, {"roles", {"a\r\nX-Injected: 1"}}}.dump()}) {
    const Answer a = call("POST", "/auth/token", body, client());
    EXPECT_EQ(a.status, 400u) << body;
    EXPECT_EQ(a.body["error"]["code"], "BAD_REQUEST");
  }
}

TEST_P(TokenEndpointsTest, RefreshRotates) {
  const Answer first = issue();
  ASSERT_EQ(first.status, 200u);
  const std::string r1 = first.body["refresh_token"];
  clock_.advance(60s);
  const Answer second = refresh(r1);
  ASSERT_EQ(second.status, 200u) << second.body.dump();
  const std::string r2 = second.body["refresh_token"];
  EXPECT_NE(r2, r1);
  EXPECT_NE(second.body["access_token"], first.body["access_token"]);
  JwtResult v = runtime_->authenticator()->authenticate(
      second.body["access_token"].get<std::string>(), clock_.now());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.principal().subject, "user-9");
  EXPECT_EQ(v.principal().permissions, (std::vector<std::string>{"docs:write"}));
  // Same family: the chain is one login.
  EXPECT_EQ(parse_refresh_token(r2)->family, parse_refresh_token(r1)->family);

  const Answer third = refresh(r2);
  ASSERT_EQ(third.status, 200u);
  const auto refreshed = audit_.of_type("token_refreshed");
  ASSERT_EQ(refreshed.size(), 2u);
  EXPECT_EQ(refreshed[0].user_id, "user-9");
  EXPECT_EQ(json::parse(refreshed[0].details_json)["rotated"], "true");
}

TEST_P(TokenEndpointsTest, ReuseOfARotatedTokenRevokesTheWholeFamily) {
  const std::string r1 = issue().body["refresh_token"];
  const std::string other = issue().body["refresh_token"];  // another login
  const Answer second = refresh(r1);
  ASSERT_EQ(second.status, 200u);
  const std::string r2 = second.body["refresh_token"];

  // The old token comes back (a thief, or the victim after the thief refreshed).
  const Answer reuse = refresh(r1);
  EXPECT_EQ(reuse.status, 401u);
  EXPECT_EQ(reuse.reason(), "REFRESH_TOKEN_REUSED");
  const auto reuse_records = audit_.of_type("refresh_token_reuse");
  ASSERT_EQ(reuse_records.size(), 1u);
  EXPECT_EQ(json::parse(reuse_records[0].details_json)["family"], parse_refresh_token(r1)->family);

  // Every token of the family is dead now, including the newest one.
  const Answer after = refresh(r2);
  EXPECT_EQ(after.status, 401u);
  EXPECT_EQ(after.reason(), "REFRESH_TOKEN_REVOKED");
  EXPECT_EQ(refresh(r1).reason(), "REFRESH_TOKEN_REVOKED");

  // Other families are untouched.
  EXPECT_EQ(refresh(other).status, 200u);
}

TEST_P(TokenEndpointsTest, RevokeOneToken) {
  const std::string r1 = issue().body["refresh_token"];
  const Answer a = revoke(r1);
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body["revoked"], true);
  EXPECT_EQ(refresh(r1).reason(), "REFRESH_TOKEN_INVALID");
  // Revoking again (or anything unknown) is not an error, it just revokes nothing.
  const Answer again = revoke(r1);
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.body["revoked"], false);
  EXPECT_EQ(audit_.of_type("token_revoked").size(), 1u);
}

TEST_P(TokenEndpointsTest, RevokeAFamily) {
  const std::string r1 = issue().body["refresh_token"];
  const std::string r2 = refresh(r1).body["refresh_token"];
  const Answer a = revoke(r2, true);
  EXPECT_EQ(a.body["revoked"], true);
  EXPECT_EQ(refresh(r2).status, 401u);
  // The rotated one is refused as revoked, not treated as a new reuse.
  EXPECT_EQ(refresh(r1).reason(), "REFRESH_TOKEN_REVOKED");
  EXPECT_TRUE(audit_.of_type("refresh_token_reuse").empty());
  EXPECT_EQ(json::parse(audit_.of_type("token_revoked").at(0).details_json)["scope"], "family");
}

TEST_P(TokenEndpointsTest, AForgedTokenOfAFamilyCannotRevokeIt) {
  const std::string r1 = issue().body["refresh_token"];
  const auto id = parse_refresh_token(r1);
  const std::string forged = generate_refresh_token(id->family).token;
  EXPECT_EQ(revoke(forged, true).body["revoked"], false);
  EXPECT_EQ(refresh(forged).reason(), "REFRESH_TOKEN_INVALID");
  EXPECT_EQ(refresh(r1).status, 200u);
}

TEST_P(TokenEndpointsTest, ExpiredRefreshTokensAreRefused) {
  const std::string r1 = issue().body["refresh_token"];
  expire_everything();
  const Answer a = refresh(r1);
  EXPECT_EQ(a.status, 401u);
  EXPECT_EQ(a.reason(), "REFRESH_TOKEN_INVALID");
  EXPECT_EQ(a.body["error"]["message"], "refresh token is invalid or expired");
}

TEST_P(TokenEndpointsTest, MalformedRefreshRequests) {
  EXPECT_EQ(call("POST", "/auth/refresh", "{}").status, 400u);
  EXPECT_EQ(call("POST", "/auth/refresh", "nope").status, 400u);
  EXPECT_EQ(call("POST", "/auth/refresh", R"({"refresh_token": 5})").status, 400u);
  const Answer junk = refresh("rt1.not-a-token");
  EXPECT_EQ(junk.status, 401u);
  EXPECT_EQ(junk.reason(), "REFRESH_TOKEN_INVALID");
  EXPECT_EQ(call("POST", "/auth/revoke", R"({"refresh_token":"x","family":"yes"})").status, 400u);
  // RFC 7009's parameter name works too.
  const std::string r1 = issue().body["refresh_token"];
  EXPECT_EQ(call("POST", "/auth/revoke", json{{"token", r1}}.dump()).body["revoked"], true);
}

TEST_P(TokenEndpointsTest, WithoutRotationTheRefreshTokenStays) {
  build({{"JWT_REFRESH_ROTATION_ENABLED", "false"}});
  const std::string r1 = issue().body["refresh_token"];
  for (int i = 0; i < 3; ++i) {
    const Answer a = refresh(r1);
    ASSERT_EQ(a.status, 200u);
    EXPECT_EQ(a.body["refresh_token"], r1);
    EXPECT_FALSE(a.body.contains("refresh_expires_in"));
  }
  EXPECT_EQ(revoke(r1).body["revoked"], true);
  EXPECT_EQ(refresh(r1).status, 401u);
}

TEST_P(TokenEndpointsTest, WithoutASigningKeyTokensAreUnavailable) {
  build({{"JWT_SECRET_KEY", ""}});
  const Answer a = issue();
  EXPECT_EQ(a.status, 503u);
  EXPECT_EQ(a.body["error"]["code"], "SERVICE_UNAVAILABLE");
  EXPECT_EQ(a.reason(), "NO_SIGNING_KEY");
}

TEST_P(TokenEndpointsTest, StoreOutageIs503) {
  if (!redis()) GTEST_SKIP() << "the memory store cannot go away";
  const std::string r1 = issue().body["refresh_token"];
  redis_->stop();
  const Answer a = refresh(r1);
  EXPECT_EQ(a.status, 503u);
  EXPECT_EQ(a.reason(), "TOKEN_STORE_UNAVAILABLE");
  EXPECT_EQ(issue().status, 503u);
  EXPECT_EQ(revoke(r1).status, 503u);
}

INSTANTIATE_TEST_SUITE_P(Stores, TokenEndpointsTest, ::testing::Values("memory", "redis"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------- memory store bounds

TEST(MemoryRefreshTokenStoreTest, IsBoundedAndDropsExpiredEntries) {
  MemoryRefreshTokenStore store(3);
  const SystemTime t0 = testing::at(1'800'000'000);
  std::vector<NewRefreshToken> tokens;
  for (int i = 0; i < 3; ++i) {
    tokens.push_back(generate_refresh_token());
    EXPECT_TRUE(store.put_now(tokens.back().id, "{}", 10s, t0).ok());
  }
  // Full of live tokens: refuse instead of evicting someone's session.
  EXPECT_EQ(store.put_now(generate_refresh_token().id, "{}", 10s, t0).status,
            RefreshStatus::kUnavailable);
  // Once they expire there is room again.
  EXPECT_TRUE(store.put_now(generate_refresh_token().id, "{}", 10s, t0 + 11s).ok());
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.get_now(tokens[0].id, 10s, t0 + 11s).status, RefreshStatus::kUnknown);
}

TEST(RefreshTokenFormatTest, ParsesOnlyWhatItGenerates) {
  const NewRefreshToken t = generate_refresh_token();
  auto id = parse_refresh_token(t.token);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->family, t.id.family);
  EXPECT_EQ(id->hash, t.id.hash);
  EXPECT_EQ(id->hash.size(), 64u);
  EXPECT_FALSE(parse_refresh_token(t.token + "A").has_value());
  EXPECT_FALSE(parse_refresh_token(t.token.substr(1)).has_value());
  std::string bad = t.token;
  bad[10] = '+';
  EXPECT_FALSE(parse_refresh_token(bad).has_value());
  EXPECT_FALSE(parse_refresh_token("").has_value());
  EXPECT_NE(generate_refresh_token().token, t.token);
}

}  // namespace
}  // namespace gatewayd::auth
