// The auth filter's verdicts on request contexts built here: JWT and API key credentials, the
// 401/403 answers and their shape, identity headers (set from the principal, client copies
// removed on every route), credential forwarding, audit records with their rate limit, and the
// unknown-kid JWKS refetch that must not block the worker.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include "filters/auth/auth_filter.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "auth_fixtures.hpp"
#include "auth_test_util.hpp"
#include "filters/auth/auth_runtime.hpp"
#include "filters/auth/jwt_signer.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::auth {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::AuditCapture;
using testing::make_settings;
using testing::ManualClock;

constexpr const char* kSecret = "filter-test-secret-0123456789abcdef";
constexpr std::int64_t kNow = 1'800'000'000;

RouteConfig make_route(std::string name, bool auth_required = true) {
  RouteConfig r;
  r.name = std::move(name);
  r.path = "/orders";
  r.service = "orders";
  r.methods = {"GET"};
  r.auth_required = auth_required;
  return r;
}

// A request as the server hands it to the filters.
struct Request {
  explicit Request(const RouteConfig& route) {
    ctx.head = &head;
    ctx.method = "GET";
    ctx.match.status = MatchStatus::kMatched;
    ctx.match.route = &route;
    ctx.request_id = "req-1";
    ctx.client_ip = "203.0.113.7";
    head.method(http::verb::get);
    head.target("/orders");
    head.set(http::field::user_agent, "test-agent");
  }
  std::string header(std::string_view name) const { return std::string(head[name]); }
  bool has(std::string_view name) const { return head.find(name) != head.end(); }

  http::request_header<> head;
  RequestContext ctx;
};

class AuthFilterTest : public ::testing::Test {
 protected:
  AuthFilterTest() : clock_(testing::at(kNow)) {}

  void build(std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> values{{"JWT_SECRET_KEY", kSecret},
                                              {"JWT_ISSUER", "https://issuer.test"},
                                              {"JWT_AUDIENCE", "gatewayd"},
                                              {"AUTH_AUDIT_FAILURES_PER_SECOND", "5"}};
    for (auto& [k, v] : extra) values[k] = v;
    AuthRuntimeOptions options;
    options.registry = &registry_;
    options.clock = clock_.fn();
    runtime_ = std::make_unique<AuthRuntime>(make_settings(values), &audit_, std::move(options));
    filter_ = runtime_->make_filter(io_.get_executor());

    key_ = generate_api_key();
    ApiKeyRecord rec;
    rec.key_hash = key_.hash_hex;
    rec.user_id = "report-bot";
    rec.name = "nightly";
    rec.roles = {"reader"};
    rec.permissions = {"orders:read"};
    rec.scopes = {"read"};
    rec.rate_limit_per_minute = 120;
    runtime_->api_keys()->set_file_records({rec});
  }

  json claims() const {
    return json{{"sub", "user-7"},
                {"iss", "https://issuer.test"},
                {"aud", "gatewayd"},
                {"iat", kNow - 10},
                {"exp", kNow + 600},
                {"roles", {"admin", "reader"}},
                {"permissions", {"orders:read", "orders:write"}},
                {"scope", "read write"}};
  }
  std::string token(const json& c) const {
    JwtSigner signer(JwtKey::hmac(kSecret), JwtAlg::kHS256);
    return *signer.sign(c);
  }
  std::string token() const { return token(claims()); }

  Verdict check(Request& r) { return testing::run(io_, filter_->on_request(r.ctx)); }

  static const LocalReply& reply(const Verdict& v) { return std::get<LocalReply>(v); }

  boost::asio::io_context io_;
  metrics::Registry registry_;
  AuditCapture audit_;
  ManualClock clock_;
  std::unique_ptr<AuthRuntime> runtime_;
  std::unique_ptr<Filter> filter_;
  GeneratedApiKey key_;
};

std::string header_of(const LocalReply& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

TEST_F(AuthFilterTest, ValidJwtSetsIdentityAndHeaders) {
  build();
  const auto route = make_route("orders");
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + token());
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<Continue>(v));
  ASSERT_TRUE(r.ctx.identity.has_value());
  EXPECT_EQ(r.ctx.identity->subject, "user-7");
  EXPECT_EQ(r.ctx.identity->auth_method, "jwt");
  EXPECT_EQ(r.ctx.identity->roles, (std::vector<std::string>{"admin", "reader"}));
  EXPECT_EQ(r.ctx.identity->scopes, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(r.header("X-User-Id"), "user-7");
  EXPECT_EQ(r.header("X-Roles"), "admin,reader");
  EXPECT_EQ(r.header("X-Permissions"), "orders:read,orders:write");
  EXPECT_EQ(r.header("X-Auth-Method"), "jwt");
  // forward_authorization defaults to true: the upstream still gets the token.
  EXPECT_TRUE(r.has("Authorization"));
  EXPECT_TRUE(audit_.records().empty());
}

TEST_F(AuthFilterTest, SpoofedIdentityHeadersAreReplacedOnProtectedRoutes) {
  build();
  const auto route = make_route("orders");
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + token());
  r.head.insert("X-User-Id", "root");
  r.head.insert("x-user-id", "root2");
  r.head.insert("X-Roles", "superuser");
  r.head.insert("X-Permissions", "*");
  r.head.insert("X-Auth-Method", "api_key");
  ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
  EXPECT_EQ(r.head.count("X-User-Id"), 1u);
  EXPECT_EQ(r.header("X-User-Id"), "user-7");
  EXPECT_EQ(r.head.count("X-Roles"), 1u);
  EXPECT_EQ(r.header("X-Roles"), "admin,reader");
  EXPECT_EQ(r.header("X-Permissions"), "orders:read,orders:write");
  EXPECT_EQ(r.header("X-Auth-Method"), "jwt");
}

TEST_F(AuthFilterTest, SpoofedIdentityHeadersAreRemovedOnPublicRoutes) {
  build();
  const auto route = make_route("public", false);
  Request r(route);
  r.head.insert("X-User-Id", "root");
  r.head.insert("X-Roles", "admin");
  r.head.insert("X-Permissions", "*");
  r.head.insert("X-Auth-Method", "jwt");
  ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
  for (auto name : kIdentityHeaders) EXPECT_FALSE(r.has(name)) << name;
  EXPECT_FALSE(r.ctx.identity.has_value());
}

TEST_F(AuthFilterTest, SpoofedIdentityHeadersAreRemovedWhenRefused) {
  build();
  const auto route = make_route("orders");
  Request r(route);
  r.head.insert("X-User-Id", "root");
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  EXPECT_FALSE(r.has("X-User-Id"));
}

TEST_F(AuthFilterTest, MissingCredentialsIs401WithChallenge) {
  build();
  const auto route = make_route("orders");
  Request r(route);
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  const LocalReply& lr = reply(v);
  EXPECT_EQ(lr.code, ErrorCode::kUnauthorized);
  EXPECT_EQ(lr.status, 401u);
  EXPECT_EQ(header_of(lr, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
  EXPECT_EQ(json::parse(lr.details_json)["reason"], "MISSING_CREDENTIALS");
  EXPECT_FALSE(r.ctx.identity.has_value());
}

TEST_F(AuthFilterTest, ExpiredTokenIs401AndNeverEchoed) {
  build();
  const auto route = make_route("orders");
  json c = claims();
  c["exp"] = kNow - 3600;
  const std::string t = token(c);
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + t);
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  const LocalReply& lr = reply(v);
  EXPECT_EQ(lr.status, 401u);
  EXPECT_EQ(json::parse(lr.details_json)["reason"], "TOKEN_EXPIRED");
  EXPECT_EQ(header_of(lr, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
  EXPECT_EQ(lr.message.find(t.substr(0, 20)), std::string::npos);
  EXPECT_FALSE(r.has("X-User-Id"));

  const auto records = audit_.of_type("auth_failure");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].ip_address, "203.0.113.7");
  EXPECT_EQ(records[0].user_agent, "test-agent");
  EXPECT_EQ(records[0].request_id, "req-1");
  const json d = json::parse(records[0].details_json);
  EXPECT_EQ(d["reason"], "TOKEN_EXPIRED");
  EXPECT_EQ(d["method"], "jwt");
  EXPECT_EQ(d["route"], "orders");
  EXPECT_EQ(records[0].details_json.find(t.substr(0, 20)), std::string::npos);
}

TEST_F(AuthFilterTest, WrongAudienceIs401) {
  build();
  const auto route = make_route("orders");
  json c = claims();
  c["aud"] = "someone-else";
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + token(c));
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  EXPECT_EQ(json::parse(reply(v).details_json)["reason"], "TOKEN_BAD_AUDIENCE");
}

TEST_F(AuthFilterTest, BadSignatureAndGarbageAre401) {
  build();
  const auto route = make_route("orders");
  for (const std::string& bad : {token() + "x", std::string("not.a.jwt"), std::string("%%%")}) {
    Request r(route);
    r.head.set(http::field::authorization, "Bearer " + bad);
    const Verdict v = check(r);
    ASSERT_TRUE(std::holds_alternative<LocalReply>(v)) << bad;
    EXPECT_EQ(reply(v).status, 401u);
  }
}

TEST_F(AuthFilterTest, ApiKeyAuthenticates) {
  build();
  const auto route = make_route("orders");
  Request r(route);
  r.head.set("X-API-Key", key_.key);
  ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
  ASSERT_TRUE(r.ctx.identity.has_value());
  EXPECT_EQ(r.ctx.identity->subject, "report-bot");
  EXPECT_EQ(r.ctx.identity->auth_method, "api_key");
  EXPECT_FALSE(r.ctx.identity->key_id.empty());
  // The key's own limit travels with the verified identity to the rate limiter.
  EXPECT_EQ(r.ctx.identity->key_limit_per_minute, 120u);
  EXPECT_EQ(r.ctx.identity->key_limit_per_hour, 0u);
  EXPECT_EQ(r.header("X-User-Id"), "report-bot");
  EXPECT_EQ(r.header("X-Auth-Method"), "api_key");
  EXPECT_EQ(r.header("X-Roles"), "reader");
}

TEST_F(AuthFilterTest, ApiKeyInAuthorizationHeaderAndCustomHeaderName) {
  build({{"API_KEY_HEADER", "X-Gateway-Key"}});
  const auto route = make_route("orders");
  {
    Request r(route);
    r.head.set(http::field::authorization, "ApiKey " + key_.key);
    ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
  }
  {
    Request r(route);
    r.head.set("X-Gateway-Key", key_.key);
    ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
  }
  {
    // The default header name means nothing once another is configured.
    Request r(route);
    r.head.set("X-API-Key", key_.key);
    ASSERT_TRUE(std::holds_alternative<LocalReply>(check(r)));
  }
}

TEST_F(AuthFilterTest, UnknownApiKeyIs401) {
  build();
  const auto route = make_route("orders");
  Request r(route);
  r.head.set("X-API-Key", generate_api_key().key);
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  EXPECT_EQ(reply(v).status, 401u);
  EXPECT_EQ(json::parse(reply(v).details_json)["reason"], "API_KEY_INVALID");
  EXPECT_EQ(json::parse(audit_.of_type("auth_failure").at(0).details_json)["method"], "api_key");
}

TEST_F(AuthFilterTest, DisabledApiKeysAreNotAccepted) {
  build({{"API_KEY_ENABLED", "false"}});
  const auto route = make_route("orders");
  Request r(route);
  r.head.set("X-API-Key", key_.key);
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  EXPECT_EQ(reply(v).status, 401u);
}

TEST_F(AuthFilterTest, RouteThatOnlyTakesApiKeysRefusesJwt) {
  build();
  auto route = make_route("keys-only");
  route.auth_methods = {"api_key"};
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + token());
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  EXPECT_EQ(reply(v).status, 401u);
  EXPECT_EQ(json::parse(reply(v).details_json)["reason"], "AUTH_METHOD_NOT_ACCEPTED");
}

TEST_F(AuthFilterTest, MissingRoleIs403) {
  build();
  auto route = make_route("admin");
  route.required_roles = {"owner", "auditor"};
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + token());
  r.head.insert("X-Roles", "owner");
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  const LocalReply& lr = reply(v);
  EXPECT_EQ(lr.code, ErrorCode::kForbidden);
  EXPECT_EQ(lr.status, 403u);
  EXPECT_EQ(json::parse(lr.details_json)["reason"], "INSUFFICIENT_ROLE");
  EXPECT_FALSE(r.has("X-Roles"));
  EXPECT_FALSE(r.ctx.identity.has_value());
  const auto records = audit_.of_type("auth_forbidden");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].user_id, "user-7");
}

TEST_F(AuthFilterTest, MissingScopeIs403WithInsufficientScopeChallenge) {
  build();
  auto route = make_route("write");
  route.required_scopes = {"read", "admin"};
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + token());
  const Verdict v = check(r);
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  EXPECT_EQ(reply(v).status, 403u);
  EXPECT_EQ(header_of(reply(v), "WWW-Authenticate"), R"(Bearer error="insufficient_scope")");
}

TEST_F(AuthFilterTest, MatchingRequirementsPass) {
  build();
  auto route = make_route("write");
  route.required_roles = {"owner", "admin"};
  route.required_scopes = {"write"};
  route.required_permissions = {"orders:write"};
  Request r(route);
  r.head.set(http::field::authorization, "Bearer " + token());
  EXPECT_TRUE(std::holds_alternative<Continue>(check(r)));
}

TEST_F(AuthFilterTest, ForwardAuthorizationFalseStripsCredentials) {
  build();
  auto route = make_route("orders");
  route.forward_authorization = false;
  {
    Request r(route);
    r.head.set(http::field::authorization, "Bearer " + token());
    ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
    EXPECT_FALSE(r.has("Authorization"));
    EXPECT_EQ(r.header("X-User-Id"), "user-7");
  }
  {
    Request r(route);
    r.head.set("X-API-Key", key_.key);
    ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
    EXPECT_FALSE(r.has("X-API-Key"));
  }
  {
    auto pub = make_route("public", false);
    pub.forward_authorization = false;
    Request r(pub);
    r.head.set(http::field::authorization, "Bearer abc");
    ASSERT_TRUE(std::holds_alternative<Continue>(check(r)));
    EXPECT_FALSE(r.has("Authorization"));
  }
}

TEST_F(AuthFilterTest, RequirementsFollowTheConfigSnapshot) {
  build();
  auto config = std::make_shared<Config>();
  config->routes.push_back(make_route("orders"));
  Request r1(config->routes[0]);
  r1.ctx.config = config;
  r1.ctx.match.route_index = 0;
  EXPECT_TRUE(std::holds_alternative<LocalReply>(check(r1)));

  // A reload makes the same route public: the filter must not keep the old requirements.
  auto next = std::make_shared<Config>();
  next->routes.push_back(make_route("orders", false));
  Request r2(next->routes[0]);
  r2.ctx.config = next;
  r2.ctx.match.route_index = 0;
  EXPECT_TRUE(std::holds_alternative<Continue>(check(r2)));
}

TEST_F(AuthFilterTest, FloodOfBadTokensIsAuditedAtTheConfiguredRate) {
  build();  // 5 audit records per second
  const auto route = make_route("orders");
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    Request r(route);
    r.head.set(http::field::authorization, "Bearer bad." + std::to_string(i) + ".token");
    if (std::holds_alternative<LocalReply>(check(r))) ++refused;
  }
  EXPECT_EQ(refused, 1000);
  // However slow the machine, 1000 checks span only a few windows.
  const auto records = audit_.of_type("auth_failure");
  EXPECT_GE(records.size(), 5u);
  EXPECT_EQ(records.size() + runtime_->audit()->suppressed_total(), 1000u);
  EXPECT_LT(records.size(), 200u);
}

TEST_F(AuthFilterTest, OutcomesAreCounted) {
  build();
  const auto route = make_route("orders");
  Request ok(route);
  ok.head.set(http::field::authorization, "Bearer " + token());
  check(ok);
  Request bad(route);
  check(bad);
  const std::string text = registry_.render();
  EXPECT_NE(text.find(R"(gatewayd_auth_requests_total{result="allowed"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(gatewayd_auth_requests_total{result="unauthorized"} 1)"),
            std::string::npos);
}

TEST(AuditLimiterTest, CountsWhatItHoldsBackAndReportsItLater) {
  AuditCapture sink;
  AuditLimiter limiter(&sink, 2);
  const auto t0 = AuditLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) {
    AuditRecord r;
    r.event_type = "auth_failure";
    r.details_json = R"({"reason":"x"})";
    limiter.submit_limited(std::move(r), t0 + std::chrono::milliseconds(i));
  }
  EXPECT_EQ(sink.records().size(), 2u);
  EXPECT_EQ(limiter.suppressed_total(), 8u);
  AuditRecord next;
  next.event_type = "auth_failure";
  next.details_json = R"({"reason":"y"})";
  EXPECT_TRUE(limiter.submit_limited(std::move(next), t0 + std::chrono::seconds(2)));
  const auto records = sink.records();
  ASSERT_EQ(records.size(), 3u);
  const json d = json::parse(records[2].details_json);
  EXPECT_EQ(d["reason"], "y");
  EXPECT_EQ(d["suppressed_before"], 8);
}

// ---------------------------------------------------------------- JWKS through the filter

// A JWKS source whose fetch can be held open, to show the worker keeps serving meanwhile.
class HeldJwks {
 public:
  JwksCache::Fetcher fetcher() {
    return [this]() -> std::optional<std::string> {
      std::unique_lock lock(mu_);
      ++calls_;
      cv_.notify_all();
      cv_.wait_for(lock, 10s, [this] { return !hold_; });
      return doc_;
    };
  }
  void set(std::optional<std::string> doc, bool hold) {
    std::lock_guard lock(mu_);
    doc_ = std::move(doc);
    hold_ = hold;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> doc_;
  bool hold_ = false;
  int calls_ = 0;
};

class AuthFilterJwksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.set(testing::read_fixture("jwks.json"), false);
    AuthRuntimeOptions options;
    options.registry = &registry_;
    options.clock = [] { return testing::fixture_now(); };
    options.jwks_fetcher = source_.fetcher();
    runtime_ = std::make_unique<AuthRuntime>(
        make_settings({{"JWT_ISSUER", "https://issuer.test"},
                       {"JWT_AUDIENCE", "gatewayd"},
                       {"JWT_ALGORITHM", "RS256"},
                       {"JWT_JWKS_URL", "http://127.0.0.1:1/unused"}}),
        &audit_, std::move(options));
    EXPECT_FALSE(runtime_->readiness().ready);
    // The first set synchronously, so the test starts from a known state; then the background
    // refresh thread, which serves the unknown-kid refetches.
    ASSERT_TRUE(runtime_->jwks()->refresh_now());
    EXPECT_TRUE(runtime_->readiness().ready);
    runtime_->start();
    filter_ = runtime_->make_filter(io_.get_executor());
  }
  void TearDown() override {
    source_.release();
    runtime_->stop();
  }

  boost::asio::io_context io_;
  metrics::Registry registry_;
  AuditCapture audit_;
  HeldJwks source_;
  std::unique_ptr<AuthRuntime> runtime_;
  std::unique_ptr<Filter> filter_;
};

TEST_F(AuthFilterJwksTest, UnknownKidRefetchDoesNotBlockTheWorker) {
  const auto route = make_route("orders");
  const std::string rotated = testing::tokens()["extra"]["rotated_rsa2"].get<std::string>();
  const std::string known = testing::tokens()["valid"]["RS256"]["token"].get<std::string>();

  // The rotated key is published, but the fetch that gets it is held open.
  source_.set(testing::read_fixture("jwks_rotated.json"), true);
  const int calls_before = source_.calls();
  Request waiting(route);
  waiting.head.set(http::field::authorization, "Bearer " + rotated);
  std::optional<Verdict> waiting_verdict;
  std::thread::id resumed_on;
  boost::asio::co_spawn(io_, filter_->on_request(waiting.ctx),
                        [&](std::exception_ptr e, Verdict v) {
                          ASSERT_FALSE(e);
                          resumed_on = std::this_thread::get_id();
                          waiting_verdict = std::move(v);
                        });
  // Run the worker until the request reaches the (held) refetch.
  const auto started = std::chrono::steady_clock::now();
  while (source_.calls() == calls_before && std::chrono::steady_clock::now() - started < 20s) {
    io_.run_one_for(10ms);
  }
  ASSERT_EQ(source_.calls(), calls_before + 1);

  // While that request is parked, the same worker keeps serving others.
  Request other(route);
  other.head.set(http::field::authorization, "Bearer " + known);
  EXPECT_TRUE(std::holds_alternative<Continue>(testing::run(io_, filter_->on_request(other.ctx))));
  EXPECT_FALSE(waiting_verdict.has_value());

  source_.release();
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!waiting_verdict && std::chrono::steady_clock::now() < until) {
    io_.run_one_for(50ms);
  }
  ASSERT_TRUE(waiting_verdict.has_value());
  EXPECT_TRUE(std::holds_alternative<Continue>(*waiting_verdict));
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
  EXPECT_EQ(waiting.header("X-User-Id"), "user-42");
}

TEST_F(AuthFilterJwksTest, BurstWithANewKidCausesOneFetch) {
  const auto route = make_route("orders");
  const std::string rotated = testing::tokens()["extra"]["rotated_rsa2"].get<std::string>();
  source_.set(testing::read_fixture("jwks_rotated.json"), true);
  const int calls_before = source_.calls();

  constexpr int kRequests = 1000;
  std::vector<std::unique_ptr<Request>> requests;
  int allowed = 0, done = 0;
  for (int i = 0; i < kRequests; ++i) {
    requests.push_back(std::make_unique<Request>(route));
    requests.back()->head.set(http::field::authorization, "Bearer " + rotated);
    boost::asio::co_spawn(io_, filter_->on_request(requests.back()->ctx),
                          [&](std::exception_ptr e, Verdict v) {
                            ++done;
                            if (!e && std::holds_alternative<Continue>(v)) ++allowed;
                          });
  }
  // Every request runs up to the refetch and parks there; the held fetch is the only one.
  const auto started = std::chrono::steady_clock::now();
  while (source_.calls() == calls_before && std::chrono::steady_clock::now() - started < 20s) {
    io_.run_one_for(10ms);
  }
  io_.poll();
  EXPECT_EQ(done, 0);
  source_.release();
  while (done < kRequests && std::chrono::steady_clock::now() - started < 30s) {
    io_.run_one_for(10ms);
  }
  EXPECT_EQ(done, kRequests);
  EXPECT_EQ(allowed, kRequests);
  EXPECT_EQ(source_.calls(), calls_before + 1);
}

TEST_F(AuthFilterJwksTest, OnlyAnUnknownKidMakesTheDecisionWait) {
  const auto route = make_route("orders");
  // Known key, no credentials, garbage: decided at once, with the same verdict on_request gives.
  Request known(route);
  known.head.set(http::field::authorization,
                 "Bearer " + testing::tokens()["valid"]["RS256"]["token"].get<std::string>());
  const auto now_known = filter_->decide_now(known.ctx);
  ASSERT_TRUE(now_known.has_value());
  EXPECT_TRUE(std::holds_alternative<Continue>(*now_known));
  EXPECT_EQ(known.header("X-User-Id"), "user-42");
  Request missing(route);
  const auto now_missing = filter_->decide_now(missing.ctx);
  ASSERT_TRUE(now_missing.has_value());
  ASSERT_TRUE(std::holds_alternative<LocalReply>(*now_missing));
  EXPECT_EQ(std::get<LocalReply>(*now_missing).status, 401u);

  // A key id the set lacks: no verdict now, nothing fetched, the request untouched; the
  // awaited decision fetches the set again and lets the token through.
  source_.set(testing::read_fixture("jwks_rotated.json"), false);
  const int calls_before = source_.calls();
  const std::string rotated = testing::tokens()["extra"]["rotated_rsa2"].get<std::string>();
  Request waiting(route);
  waiting.head.set(http::field::authorization, "Bearer " + rotated);
  EXPECT_FALSE(filter_->decide_now(waiting.ctx).has_value());
  EXPECT_EQ(source_.calls(), calls_before);
  EXPECT_EQ(waiting.header("Authorization"), "Bearer " + rotated);
  const Verdict later = testing::run(io_, filter_->on_request(waiting.ctx));
  EXPECT_TRUE(std::holds_alternative<Continue>(later));
  EXPECT_EQ(source_.calls(), calls_before + 1);
  EXPECT_EQ(waiting.header("X-User-Id"), "user-42");
}

TEST_F(AuthFilterJwksTest, UnknownKidWithJwksDownIs401) {
  const auto route = make_route("orders");
  source_.set(std::nullopt, false);  // the JWKS server fails
  Request r(route);
  r.head.set(http::field::authorization,
             "Bearer " + testing::tokens()["extra"]["rotated_rsa2"].get<std::string>());
  const Verdict v = testing::run(io_, filter_->on_request(r.ctx));
  ASSERT_TRUE(std::holds_alternative<LocalReply>(v));
  EXPECT_EQ(json::parse(std::get<LocalReply>(v).details_json)["reason"], "TOKEN_UNKNOWN_KEY");
  // The last good keys still serve.
  Request ok(route);
  ok.head.set(http::field::authorization,
              "Bearer " + testing::tokens()["valid"]["RS256"]["token"].get<std::string>());
  EXPECT_TRUE(std::holds_alternative<Continue>(testing::run(io_, filter_->on_request(ok.ctx))));
}

}  // namespace
}  // namespace gatewayd::auth
