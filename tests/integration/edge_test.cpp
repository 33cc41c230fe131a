// The request-path filters through the real binary: JWT and API-key authentication with the
// gateway's own token endpoints, identity forwarding, and rate limiting (local, and shared by
// three gateways through one real redis-server).
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSecret = "edge-test-hs256-secret-with-enough-entropy-0123456789";
constexpr const char* kClientSecret = "internal-client-secret";

std::string services_for(const DemoUpstream& up) {
  return "services:\n  demo:\n    instances:\n      - url: " + up.url() + "\n";
}

const char* kRoutes = R"(routes:
  - path: /private/**
    service: demo
    methods: [GET, POST]
    auth_required: true
    strip_prefix: true
  - path: /admins/**
    service: demo
    methods: [GET]
    strip_prefix: true
    auth:
      roles: [admin]
  - path: /public/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
  - path: /limited/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
    rate_limit: 5
  - path: /shared/**
    service: demo
    methods: [GET]
    auth_required: false
    strip_prefix: true
    rate_limit: 100
)";

// The value the upstream received for header `name` (the demo upstream echoes them).
std::optional<std::string> upstream_header(const HttpResponse& res, const std::string& name) {
  const auto j = json::parse(res.body);
  for (const auto& pair : j["headers"]) {
    const auto key = pair[0].get<std::string>();
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return pair[1].get<std::string>();
    }
  }
  return std::nullopt;
}

std::map<std::string, std::string> auth_env(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env{{"JWT_SECRET_KEY", kSecret},
                                         {"JWT_ALGORITHM", "HS256"},
                                         {"AUTH_TOKEN_CLIENT_SECRET", kClientSecret},
                                         {"REDIS_ENABLED", "false"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

json issue_token(std::uint16_t port, const json& claims) {
  const auto res =
      http_request(port, request_spec("POST", "/auth/token",
                                      {{"Authorization", std::string("Bearer ") + kClientSecret},
                                       {"Content-Type", "application/json"}},
                                      claims.dump()));
  EXPECT_EQ(res.status, 200u) << res.body;
  return json::parse(res.body);
}

class EdgeTest : public ::testing::Test {
 protected:
  DemoUpstream upstream{"demo"};
};

TEST_F(EdgeTest, JwtFromTheTokenEndpointOpensPrivateRoutesAndNamesTheUser) {
  GatewayProcess gateway{{kRoutes, services_for(upstream), auth_env(), 2, true}};

  auto res = http_get(gateway.port(), "/private/echo");
  EXPECT_EQ(res.status, 401u);
  EXPECT_NE(res.header("WWW-Authenticate").find("Bearer"), std::string::npos);
  res = http_get(gateway.port(), "/private/echo", {{"Authorization", "Bearer not.a.token"}});
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(res.body.find("not.a.token"), std::string::npos) << "the token is never echoed";

  // Without the internal credential nobody mints tokens.
  res = http_request(gateway.port(), request_spec("POST", "/auth/token", {}, R"({"sub":"x"})"));
  EXPECT_EQ(res.status, 401u) << res.body;

  const auto pair = issue_token(gateway.port(), {{"sub", "user-7"}, {"roles", {"reader"}}});
  const std::string bearer = "Bearer " + pair["access_token"].get<std::string>();
  res = http_get(gateway.port(), "/private/echo",
                 {{"Authorization", bearer}, {"X-User-Id", "someone-else"}, {"X-Roles", "admin"}});
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(upstream_header(res, "X-User-Id"), "user-7");
  EXPECT_EQ(upstream_header(res, "X-Roles"), "reader");

  // Rights: the admin-only route refuses a reader with 403, not 401.
  res = http_get(gateway.port(), "/admins/echo", {{"Authorization", bearer}});
  EXPECT_EQ(res.status, 403u) << res.body;
  const auto admin = issue_token(gateway.port(), {{"sub", "root-1"}, {"roles", {"admin"}}});
  res = http_get(gateway.port(), "/admins/echo",
                 {{"Authorization", "Bearer " + admin["access_token"].get<std::string>()}});
  EXPECT_EQ(res.status, 200u) << res.body;

  // Public routes never pass client-sent identity headers on.
  res = http_get(gateway.port(), "/public/echo",
                 {{"X-User-Id", "admin"}, {"X-Roles", "admin"}, {"X-Permissions", "*"}});
  ASSERT_EQ(res.status, 200u);
  EXPECT_FALSE(upstream_header(res, "X-User-Id"));
  EXPECT_FALSE(upstream_header(res, "X-Roles"));
  EXPECT_FALSE(upstream_header(res, "X-Permissions"));
}

TEST_F(EdgeTest, CorsPreflightAndActualRequests) {
  GatewayProcess gateway{{kRoutes, services_for(upstream),
                          auth_env({{"CORS_ENABLED", "true"},
                                    {"ALLOWED_ORIGINS", "https://app.example.com"},
                                    {"CORS_ALLOWED_METHODS", "GET,POST"},
                                    {"CORS_ALLOWED_HEADERS", "Authorization,Content-Type"},
                                    {"CORS_MAX_AGE_SECONDS", "600"}}),
                          1, true}};
  // A preflight to a protected route is answered by the gateway: no credentials needed, and
  // the route does not list OPTIONS.
  auto res = http_request(gateway.port(),
                          request_spec("OPTIONS", "/private/echo",
                                       {{"Origin", "https://app.example.com"},
                                        {"Access-Control-Request-Method", "POST"},
                                        {"Access-Control-Request-Headers", "authorization"}}));
  EXPECT_EQ(res.status, 204u) << res.body;
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_NE(res.header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_EQ(res.header("Access-Control-Max-Age"), "600");

  res = http_request(gateway.port(), request_spec("OPTIONS", "/private/echo",
                                                  {{"Origin", "https://evil.example.net"},
                                                   {"Access-Control-Request-Method", "POST"}}));
  EXPECT_EQ(res.status, 403u);
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());

  // Actual requests: allowed origins get the header, also on a refusal (401) so the browser
  // can read it; other origins get none.
  res = http_get(gateway.port(), "/public/echo", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://app.example.com");
  res = http_get(gateway.port(), "/private/echo", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://app.example.com");
  res = http_get(gateway.port(), "/public/echo", {{"Origin", "https://evil.example.net"}});
  EXPECT_EQ(res.status, 200u);
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());
}

TEST_F(EdgeTest, RefreshRotatesAndReuseRevokesTheFamily) {
  GatewayProcess gateway{{kRoutes, services_for(upstream), auth_env(), 1, true}};
  const auto first = issue_token(gateway.port(), {{"sub", "user-9"}});
  const std::string old_refresh = first["refresh_token"];

  auto res = http_request(
      gateway.port(), request_spec("POST", "/auth/refresh", {{"Content-Type", "application/json"}},
                                   json{{"refresh_token", old_refresh}}.dump()));
  ASSERT_EQ(res.status, 200u) << res.body;
  const auto second = json::parse(res.body);
  const std::string new_refresh = second["refresh_token"];
  EXPECT_NE(new_refresh, old_refresh);

  // The rotated token presented again: refused, and the whole family is revoked with it.
  res = http_request(gateway.port(), request_spec("POST", "/auth/refresh", {},
                                                  json{{"refresh_token", old_refresh}}.dump()));
  EXPECT_EQ(res.status, 401u) << res.body;
  res = http_request(gateway.port(), request_spec("POST", "/auth/refresh", {},
                                                  json{{"refresh_token", new_refresh}}.dump()));
  EXPECT_EQ(res.status, 401u) << res.body;
}

TEST_F(EdgeTest, LocalRateLimitAnswers429WithHeaders) {
  GatewayProcess gateway{
      {kRoutes, services_for(upstream), auth_env({{"RATE_LIMIT_ENABLED", "true"}}), 2, true}};
  unsigned ok = 0, limited = 0;
  HttpResponse last_limited;
  for (int i = 0; i < 20; ++i) {
    auto res = http_get(gateway.port(), "/limited/hello");
    if (res.status == 200) {
      ++ok;
      EXPECT_EQ(res.header("X-RateLimit-Limit"), "5");
    } else if (res.status == 429) {
      ++limited;
      last_limited = res;
    } else {
      ADD_FAILURE() << res.status << " " << res.body;
    }
  }
  // Five per minute, whichever of the two workers took the connection.
  EXPECT_EQ(ok, 5u);
  EXPECT_EQ(limited, 15u);
  EXPECT_FALSE(last_limited.header("Retry-After").empty());
  EXPECT_EQ(json::parse(last_limited.body)["error"]["code"], "RATE_LIMITED");
}

TEST_F(EdgeTest, ThreeGatewaysShareOneRedisLimit) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  RedisServer redis;
  const auto env = auth_env({{"RATE_LIMIT_ENABLED", "true"},
                             {"RATE_LIMIT_BACKEND", "redis"},
                             {"REDIS_ENABLED", "true"},
                             {"REDIS_HOST", redis.host()},
                             {"REDIS_PORT", std::to_string(redis.port())}});
  std::vector<std::unique_ptr<GatewayProcess>> gateways;
  for (int i = 0; i < 3; ++i) {
    gateways.push_back(std::make_unique<GatewayProcess>(
        GatewayOptions{kRoutes, services_for(upstream), env, 2, true}));
  }
  constexpr int kRequests = 1000;
  std::atomic<int> allowed{0}, refused{0}, other{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int g = 0; g < 3; ++g) {
    clients.emplace_back([&, g] {
      HttpConnection conn(gateways[g]->port());
      for (int i = g; i < kRequests; i += 3) {
        const auto res = conn.request(request_spec("GET", "/shared/hello"));
        if (res.status == 200) {
          ++allowed;
        } else if (res.status == 429) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 60.0;
  EXPECT_EQ(other.load(), 0);
  // One bucket of 100 shared by all three: at least the burst, at most the burst plus what
  // refilled during the run.
  EXPECT_GE(allowed.load(), 100);
  EXPECT_LE(allowed.load(), 100 + static_cast<int>(100 * minutes) + 1)
      << "allowed " << allowed.load() << " over " << minutes * 60 << " s";
  EXPECT_EQ(allowed.load() + refused.load(), kRequests);
}

TEST_F(EdgeTest, RedisDownFallsBackToLocalAndComesBack) {
  if (!redis_installed()) GTEST_SKIP() << "redis-server not installed";
  RedisServer redis;
  GatewayProcess gateway{{kRoutes, services_for(upstream),
                          auth_env({{"RATE_LIMIT_ENABLED", "true"},
                                    {"RATE_LIMIT_BACKEND", "redis"},
                                    {"RATE_LIMIT_REDIS_FAILURE_MODE", "local"},
                                    {"REDIS_ENABLED", "true"},
                                    {"REDIS_HOST", redis.host()},
                                    {"REDIS_PORT", std::to_string(redis.port())}}),
                          1, true}};
  ASSERT_EQ(http_get(gateway.port(), "/limited/hello").status, 200u);
  redis.stop();
  // Local fallback: the route's 5 per minute still holds, requests are decided, never 5xx.
  unsigned ok = 0;
  for (int i = 0; i < 12; ++i) {
    const auto res = http_get(gateway.port(), "/limited/hello");
    ASSERT_TRUE(res.status == 200 || res.status == 429) << res.status << res.body;
    if (res.status == 200) ++ok;
  }
  EXPECT_LE(ok, 5u);
  const auto metrics = http_get(gateway.port(), "/metrics").body;
  EXPECT_NE(metrics.find("gatewayd_ratelimit_degraded 1"), std::string::npos);

  redis.start();
  // Shared limiting resumes on its own: the degraded gauge goes back to 0.
  bool recovered = false;
  for (int i = 0; i < 200 && !recovered; ++i) {
    http_get(gateway.port(), "/shared/hello");
    recovered = http_get(gateway.port(), "/metrics").body.find("gatewayd_ratelimit_degraded 0") !=
                std::string::npos;
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(recovered) << gateway.output();
}

}  // namespace
}  // namespace gatewayd::test
