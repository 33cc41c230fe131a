// Per-route CORS policies through the real binary: a route's `cors:` replaces the global policy
// for its preflights (matched by path and Access-Control-Request-Method, answered without auth
// and without reaching the upstream) and for its actual responses; other routes keep the global
// policy, and `cors: false` turns CORS off for a route.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "support/fake_http_server.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;

const char* kRoutes = R"(routes:
  - path: /shop/**
    service: api
    methods: [GET, PUT]
    auth_required: true
    cors:
      allowed_origins: ["https://shop.example.com", "https://*.shop.example.com"]
      allowed_methods: [GET, PUT]
      allowed_headers: [Authorization, X-Cart]
      allow_credentials: true
      max_age: 60
  - path: /open/**
    service: api
    methods: [GET]
    auth_required: false
    cors:
      allowed_origins: ["https://*.partner.test"]
  - path: /plain/**
    service: api
    methods: [GET]
    auth_required: false
  - path: /nocors/**
    service: api
    methods: [GET]
    auth_required: false
    cors: false
)";

class CorsRoutes : public ::testing::Test {
 protected:
  CorsRoutes()
      : upstream_([this](FakeRequest) -> boost::asio::awaitable<FakeResponse> {
          calls_.fetch_add(1);
          FakeResponse res;
          res.body = R"({"ok":true})";
          co_return res;
        }),
        gateway_(
            {kRoutes,
             "services:\n  api:\n    instances:\n      - url: http://" + upstream_.address() + "\n",
             {{"JWT_SECRET_KEY", "cors-test-hs256-secret-with-enough-entropy-0123456789"},
              {"JWT_ALGORITHM", "HS256"},
              {"REDIS_ENABLED", "false"},
              {"CORS_ENABLED", "true"},
              {"ALLOWED_ORIGINS", "https://global.example.com"}},
             1,
             true}) {}

  HttpResponse preflight(const std::string& target, const std::string& origin,
                         const std::string& method, const std::string& headers = {}) {
    HttpRequestSpec spec;
    spec.method = "OPTIONS";
    spec.target = target;
    spec.headers = {{"Origin", origin}, {"Access-Control-Request-Method", method}};
    if (!headers.empty()) spec.headers.emplace_back("Access-Control-Request-Headers", headers);
    return http_request(gateway_.port(), spec);
  }

  std::atomic<int> calls_{0};
  FakeHttpServer upstream_;
  GatewayProcess gateway_;
};

TEST_F(CorsRoutes, PreflightUsesTheRoutesPolicyWithoutAuthOrUpstream) {
  auto res = preflight("/shop/cart", "https://eu.shop.example.com", "PUT", "x-cart, authorization");
  ASSERT_EQ(res.status, 204u) << res.body;
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://eu.shop.example.com");
  EXPECT_EQ(res.header("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(res.header("Access-Control-Allow-Methods"), "GET, PUT");
  EXPECT_EQ(res.header("Access-Control-Allow-Headers"), "Authorization, X-Cart");
  EXPECT_EQ(res.header("Access-Control-Max-Age"), "60");

  res = preflight("/shop/cart", "https://shop.example.com", "GET");
  EXPECT_EQ(res.status, 204u) << res.body;
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://shop.example.com");

  // The global policy's origin is not the route's: refused.
  res = preflight("/shop/cart", "https://global.example.com", "PUT");
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "FORBIDDEN");
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());
  // A look-alike suffix is no subdomain.
  res = preflight("/shop/cart", "https://shop.example.com.evil.test", "GET");
  EXPECT_EQ(res.status, 403u);
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());
  // A header the route does not allow.
  res = preflight("/shop/cart", "https://shop.example.com", "PUT", "x-debug");
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(json::parse(res.body)["error"]["details"]["header"], "x-debug");

  EXPECT_EQ(calls_.load(), 0) << "no preflight reaches the upstream";
}

TEST_F(CorsRoutes, PreflightMatchesTheRouteByRequestedMethod) {
  // DELETE is not a method of /shop/**: no route, so the global policy answers (its default
  // methods include DELETE) and only the global origin passes.
  auto res = preflight("/shop/cart", "https://global.example.com", "DELETE");
  EXPECT_EQ(res.status, 204u) << res.body;
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://global.example.com");
  EXPECT_TRUE(res.header("Access-Control-Allow-Credentials").empty());
  res = preflight("/shop/cart", "https://shop.example.com", "DELETE");
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(CorsRoutes, RoutesWithoutAPolicyKeepTheGlobalOne) {
  auto res = preflight("/plain/x", "https://global.example.com", "GET");
  EXPECT_EQ(res.status, 204u) << res.body;
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://global.example.com");
  res = preflight("/plain/x", "https://a.partner.test", "GET");
  EXPECT_EQ(res.status, 403u);

  res = http_get(gateway_.port(), "/plain/x", {{"Origin", "https://global.example.com"}});
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://global.example.com");
  res = http_get(gateway_.port(), "/plain/x", {{"Origin", "https://a.partner.test"}});
  ASSERT_EQ(res.status, 200u);
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());
  EXPECT_EQ(res.header("Vary"), "Origin");
}

TEST_F(CorsRoutes, ActualResponsesUseTheRoutesPolicy) {
  // Allowed origin on a public route with its own policy: the upstream's answer is readable.
  auto res = http_get(gateway_.port(), "/open/x", {{"Origin", "https://b.partner.test"}});
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://b.partner.test");
  EXPECT_TRUE(res.header("Access-Control-Allow-Credentials").empty());
  const std::string exposed = res.header("Access-Control-Expose-Headers");
  EXPECT_NE(exposed.find("X-RateLimit-Remaining"), std::string::npos) << exposed;
  EXPECT_NE(exposed.find("Retry-After"), std::string::npos) << exposed;

  // The route's credentialed policy on a 401 from auth: the page can read why.
  res = http_get(gateway_.port(), "/shop/cart", {{"Origin", "https://eu.shop.example.com"}});
  ASSERT_EQ(res.status, 401u) << res.body;
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "https://eu.shop.example.com");
  EXPECT_EQ(res.header("Access-Control-Allow-Credentials"), "true");

  // Disallowed origin: the request still goes through, without CORS headers.
  res = http_get(gateway_.port(), "/shop/cart", {{"Origin", "https://global.example.com"}});
  ASSERT_EQ(res.status, 401u);
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());
  EXPECT_TRUE(res.header("Access-Control-Allow-Credentials").empty());
}

TEST_F(CorsRoutes, CorsFalseTurnsCorsOffForTheRoute) {
  // Not answered as a preflight: OPTIONS goes to the router, which the route does not allow.
  auto res = preflight("/nocors/x", "https://global.example.com", "GET");
  EXPECT_EQ(res.status, 405u) << res.body;
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());
  res = http_get(gateway_.port(), "/nocors/x", {{"Origin", "https://global.example.com"}});
  ASSERT_EQ(res.status, 200u);
  EXPECT_TRUE(res.header("Access-Control-Allow-Origin").empty());
  EXPECT_TRUE(res.header("Vary").empty());
}

}  // namespace
}  // namespace gatewayd::test
