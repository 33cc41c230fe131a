// AuthRuntime as the app uses it: what the settings turn into (keys, token options, stores),
// start-up errors naming the setting, route checks, readiness with JWKS, the database API key
// pass-through, and filters/endpoints made per worker sharing one state.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include "filters/auth/auth_runtime.hpp"

#include <gtest/gtest.h>

#include "auth_fixtures.hpp"
#include "auth_test_util.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::auth {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using testing::make_settings;

constexpr const char* kSecret = "runtime-test-secret-0123456789abcdef";

AuthRuntimeOptions test_options(metrics::Registry& registry) {
  AuthRuntimeOptions o;
  o.registry = &registry;
  return o;
}

RouteConfig route(std::string name, bool auth_required = true) {
  RouteConfig r;
  r.name = std::move(name);
  r.path = "/" + r.name;
  r.service = "svc";
  r.auth_required = auth_required;
  return r;
}

TEST(AuthRuntimeTest, ReadsTheTokenSettings) {
  metrics::Registry registry;
  AuthRuntime rt(make_settings({{"JWT_SECRET_KEY", kSecret},
                                {"JWT_EXPIRATION_MINUTES", "5"},
                                {"JWT_REFRESH_EXPIRATION_DAYS", "2"},
                                {"JWT_REFRESH_ROTATION_ENABLED", "false"},
                                {"JWT_ISSUER", "https://a.test, https://b.test"},
                                {"JWT_AUDIENCE", "api"}}),
                 nullptr, test_options(registry));
  EXPECT_EQ(rt.token_options().access_ttl, 5min);
  EXPECT_EQ(rt.token_options().refresh_ttl, std::chrono::hours(48));
  EXPECT_FALSE(rt.token_options().rotation);
  EXPECT_EQ(rt.token_options().issuer, "https://a.test");
  EXPECT_EQ(rt.token_options().audience, "api");
  EXPECT_TRUE(rt.has_jwt_keys());
  EXPECT_FALSE(rt.uses_redis());
  EXPECT_EQ(rt.jwks(), nullptr);
  EXPECT_TRUE(rt.readiness().ready);
}

TEST(AuthRuntimeTest, StartUpErrorsNameTheSetting) {
  metrics::Registry registry;
  auto build = [&](std::map<std::string, std::string> values) {
    AuthRuntime rt(make_settings(values), nullptr, test_options(registry));
  };
  auto message = [&](std::map<std::string, std::string> values) -> std::string {
    try {
      build(std::move(values));
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message({{"JWT_JWKS_URL", "ftp://keys.test/jwks"}}).find("JWT_JWKS_URL"),
            std::string::npos);
  EXPECT_NE(message({{"JWT_PUBLIC_KEY_PATH", "/nonexistent/key.pem"}}).find("JWT_PUBLIC_KEY_PATH"),
            std::string::npos);
  // An RSA key with the HS256 default is a configuration mistake, not something to guess at.
  EXPECT_NE(
      message({{"JWT_PUBLIC_KEY_PATH", testing::key_path("rsa_public.pem")}}).find("JWT_ALGORITHM"),
      std::string::npos);
  EXPECT_EQ(message({{"JWT_PUBLIC_KEY_PATH", testing::key_path("rsa_public.pem")},
                     {"JWT_ALGORITHM", "RS256"}}),
            "no error");
  EXPECT_NE(message({{"API_KEYS_FILE", "/nonexistent/keys.yaml"}}).find("API_KEYS_FILE"),
            std::string::npos);
}

TEST(AuthRuntimeTest, RouteChecks) {
  metrics::Registry registry;
  Config config;
  config.routes.push_back(route("public", false));
  config.routes.push_back(route("jwt"));
  auto keys_only = route("keys");
  keys_only.auth_methods = {"api_key"};
  config.routes.push_back(keys_only);
  auto bad = route("bad");
  bad.auth_methods = {"saml"};
  config.routes.push_back(bad);

  AuthRuntime without_keys(make_settings({}), nullptr, test_options(registry));
  auto problems = without_keys.check_routes(config);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("route jwt"), std::string::npos);
  EXPECT_NE(problems[0].find("JWT_SECRET_KEY"), std::string::npos);
  EXPECT_NE(problems[1].find("saml"), std::string::npos);

  AuthRuntime with_keys(make_settings({{"JWT_SECRET_KEY", kSecret}, {"API_KEY_ENABLED", "false"}}),
                        nullptr, test_options(registry));
  problems = with_keys.check_routes(config);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("API_KEY_ENABLED"), std::string::npos);
}

TEST(AuthRuntimeTest, DatabaseApiKeysReachEveryWorkersFilter) {
  metrics::Registry registry;
  AuthRuntime rt(make_settings({{"JWT_SECRET_KEY", kSecret}}), nullptr, test_options(registry));
  boost::asio::io_context worker_a, worker_b;
  auto filter_a = rt.make_filter(worker_a.get_executor());
  auto filter_b = rt.make_filter(worker_b.get_executor());
  EXPECT_EQ(filter_a->name(), "auth");

  const GeneratedApiKey key = generate_api_key();
  ApiKeyRecord row;
  row.key_hash = key.hash_hex;
  row.user_id = "db-owner";
  ApiKeyRecord broken;
  broken.key_hash = "not-a-hash";
  EXPECT_EQ(rt.set_database_api_keys({row, broken}), 1u);

  const auto r = route("orders");
  for (auto* pair : {&worker_a, &worker_b}) {
    auto& filter = pair == &worker_a ? filter_a : filter_b;
    http::request_header<> head;
    head.set("X-API-Key", key.key);
    RequestContext ctx;
    ctx.head = &head;
    ctx.match.route = &r;
    const Verdict v = testing::run(*pair, filter->on_request(ctx));
    ASSERT_TRUE(std::holds_alternative<Continue>(v));
    EXPECT_EQ(ctx.identity->subject, "db-owner");
  }
}

TEST(AuthRuntimeTest, ReadinessWaitsForTheFirstJwksSet) {
  metrics::Registry registry;
  std::atomic<bool> up{false};
  AuthRuntimeOptions o = test_options(registry);
  o.jwks_fetcher = [&]() -> std::optional<std::string> {
    if (!up) return std::nullopt;
    return testing::read_fixture("jwks.json");
  };
  AuthRuntime rt(make_settings({{"JWT_JWKS_URL", "https://keys.test/jwks"}}), nullptr,
                 std::move(o));
  ASSERT_NE(rt.jwks(), nullptr);
  EXPECT_TRUE(rt.has_jwt_keys());
  EXPECT_FALSE(rt.jwks()->refresh_now());
  EXPECT_FALSE(rt.readiness().ready);
  EXPECT_NE(rt.readiness().reason.find("JWKS"), std::string::npos);
  up = true;
  EXPECT_TRUE(rt.jwks()->refresh_now());
  EXPECT_TRUE(rt.readiness().ready);
  // The key set age is exported.
  EXPECT_NE(registry.render().find("gatewayd_jwks_key_set_age_seconds"), std::string::npos);
}

TEST(AuthRuntimeTest, WithoutRedisEveryWorkerSharesTheMemoryStore) {
  metrics::Registry registry;
  AuthRuntime rt(
      make_settings({{"JWT_SECRET_KEY", kSecret}, {"AUTH_TOKEN_CLIENT_SECRET", "s3cret"}}), nullptr,
      test_options(registry));
  boost::asio::io_context worker_a, worker_b;
  auto a = rt.make_token_endpoints(worker_a.get_executor());
  auto b = rt.make_token_endpoints(worker_b.get_executor());

  http::request_header<> head;
  head.set(http::field::authorization, "Bearer s3cret");
  LocalRequest issue;
  issue.method = "POST";
  issue.path = "/auth/token";
  issue.head = &head;
  issue.body = R"({"sub":"u1"})";
  const LocalResponse issued = testing::run(worker_a, a->handle(issue));
  ASSERT_EQ(issued.status, 200u) << issued.body;
  const auto doc = nlohmann::json::parse(issued.body);

  // A refresh token issued on one worker refreshes on another.
  LocalRequest refresh;
  refresh.method = "POST";
  refresh.path = "/auth/refresh";
  refresh.body = nlohmann::json{{"refresh_token", doc["refresh_token"]}}.dump();
  const LocalResponse refreshed = testing::run(worker_b, b->handle(refresh));
  EXPECT_EQ(refreshed.status, 200u) << refreshed.body;
}

}  // namespace
}  // namespace gatewayd::auth
