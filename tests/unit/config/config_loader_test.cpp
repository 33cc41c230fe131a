#include "config/config_loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "config/cors_policy.hpp"
#include "gatewayd/router.hpp"
#include "support/temp_dir.hpp"

namespace gatewayd {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr const char* kServices = R"(services:
  project-service:
    instances:
      - url: http://project-1:8000
        weight: 1
        healthy: true
  user-service:
    instances:
      - url: https://users.internal
)";

std::shared_ptr<const Config> parse(std::string_view routes,
                                    std::string_view services = kServices) {
  return parse_config(routes, services, {}, "routes.yaml", "services.yaml");
}

std::string error_of(std::string_view routes, std::string_view services = kServices) {
  try {
    parse(routes, services);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::string service_error(std::string_view services) {
  return error_of("routes: []\n", services);
}

TEST(ConfigLoader, ReferenceFormatWithDefaults) {
  const auto c = parse(R"(routes:
  - path: /projects
    service: project-service
  - path: /api/v1/projects/**
    service: project-service
    methods: [get, Post]
    auth_required: false
    rate_limit: 100
    timeout: 2.5
    strip_prefix: true
    rewrite_path: null
    headers: {X-Env: prod, X-Team: core}
)");
  ASSERT_EQ(c->routes.size(), 2u);
  const auto& a = c->routes[0];
  EXPECT_EQ(a.path, "/projects");
  EXPECT_EQ(a.service, "project-service");
  EXPECT_THAT(a.methods, ElementsAre("GET"));
  EXPECT_TRUE(a.auth_required);
  EXPECT_FALSE(a.rate_limit);
  EXPECT_EQ(a.timeout, milliseconds(30'000));
  EXPECT_EQ(a.connect_timeout, milliseconds(5'000));
  EXPECT_FALSE(a.strip_prefix);
  EXPECT_FALSE(a.rewrite_path);
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.match, MatchKind::kExact);
  EXPECT_EQ(a.name, "GET /projects");
  EXPECT_THAT(a.source, HasSubstr("routes.yaml:2"));

  const auto& b = c->routes[1];
  EXPECT_THAT(b.methods, ElementsAre("GET", "POST"));
  EXPECT_FALSE(b.auth_required);
  EXPECT_EQ(b.rate_limit, 100u);
  EXPECT_EQ(b.timeout, milliseconds(2'500));
  EXPECT_TRUE(b.strip_prefix);
  EXPECT_EQ(b.match, MatchKind::kPrefix);
  EXPECT_THAT(b.headers, ElementsAre(Pair("X-Env", "prod"), Pair("X-Team", "core")));
  EXPECT_EQ(b.name, "GET,POST /api/v1/projects/**");

  const auto& svc = c->services.at("project-service");
  EXPECT_EQ(svc.name, "project-service");
  ASSERT_EQ(svc.instances.size(), 1u);
  EXPECT_EQ(svc.instances[0].scheme, "http");
  EXPECT_EQ(svc.instances[0].host, "project-1");
  EXPECT_EQ(svc.instances[0].port, 8000);
  EXPECT_EQ(svc.instances[0].id, "project-1:8000");
  EXPECT_EQ(svc.lb, LbStrategy::kRoundRobin);
  EXPECT_FALSE(svc.health_check.enabled);
  const auto& users = c->services.at("user-service").instances.at(0);
  EXPECT_EQ(users.scheme, "https");
  EXPECT_EQ(users.port, 443);

  ASSERT_TRUE(c->router);
  const auto m = c->router->match("h", "/api/v1/projects/7", "POST");
  ASSERT_EQ(m.status, MatchStatus::kMatched);
  EXPECT_EQ(m.route, &c->routes[1]);
}

TEST(ConfigLoader, GatewaydFields) {
  const auto c = parse(R"(routes:
  - name: user-detail
    path: /users/{id}
    service: user-service
    methods: [GET, PUT, DELETE]
    priority: 5
    host: API.Example.com
    enabled: true
    connect_timeout: 0.25
    max_body_bytes: 1048576
    forward_authorization: false
    rewrite: /v2/users/{id}
    retry:
      count: 2
      per_try_timeout: 1.5
      on_status: [503]
      non_idempotent: true
      body_limit: 1024
      backoff_base: 0.01
      backoff_max: 0.5
      backoff_multiplier: 3
      on_connect_failure: false
      on_timeout: false
    auth:
      methods: [JWT]
      roles: [admin, ops]
      scopes: [users:write]
      permissions: [write]
  - path: /static
    match: prefix
    service: internal
    auth_required: false
  - path: /wild
    service: internal
    host: "*.example.com"
    retry: 1
)");
  const auto& r = c->routes[0];
  EXPECT_EQ(r.name, "user-detail");
  EXPECT_EQ(r.match, MatchKind::kTemplate);
  EXPECT_EQ(r.priority, 5);
  EXPECT_EQ(r.host, "api.example.com");
  EXPECT_EQ(r.connect_timeout, milliseconds(250));
  EXPECT_EQ(r.max_body_bytes, 1048576u);
  EXPECT_FALSE(r.forward_authorization);
  EXPECT_EQ(r.rewrite_path, "/v2/users/{id}");
  EXPECT_EQ(r.retry.retry_count, 2u);
  EXPECT_EQ(r.retry.per_try_timeout, milliseconds(1500));
  EXPECT_THAT(r.retry.retry_on_status, ElementsAre(503u));
  EXPECT_TRUE(r.retry.retry_non_idempotent);
  EXPECT_EQ(r.retry.retry_body_limit, 1024u);
  EXPECT_EQ(r.retry.backoff_base, milliseconds(10));
  EXPECT_EQ(r.retry.backoff_max, milliseconds(500));
  EXPECT_DOUBLE_EQ(r.retry.backoff_multiplier, 3.0);
  EXPECT_FALSE(r.retry.retry_on_connect_failure);
  EXPECT_FALSE(r.retry.retry_on_timeout);
  EXPECT_THAT(r.auth_methods, ElementsAre("jwt"));
  EXPECT_THAT(r.required_roles, ElementsAre("admin", "ops"));
  EXPECT_THAT(r.required_scopes, ElementsAre("users:write"));
  EXPECT_THAT(r.required_permissions, ElementsAre("write"));
  EXPECT_EQ(c->routes[1].match, MatchKind::kPrefix);
  EXPECT_EQ(c->routes[1].service, "internal");
  EXPECT_EQ(c->routes[2].host, "*.example.com");
  EXPECT_EQ(c->routes[2].retry.retry_count, 1u);

  const auto m = c->router->match("api.example.com", "/users/9", "PUT");
  ASSERT_EQ(m.status, MatchStatus::kMatched);
  EXPECT_EQ(upstream_path(*m.route, m, "/users/9"), "/v2/users/9");
  EXPECT_EQ(c->router->match("other.org", "/users/9", "PUT").status, MatchStatus::kNotFound);
  EXPECT_EQ(c->router->match("h", "/static/x.css", "GET").status, MatchStatus::kMatched);
}

TEST(ConfigLoader, ServiceFields) {
  const auto c = parse("routes: []\n", R"(services:
  svc:
    load_balancer: Weighted
    instances:
      - {url: "http://10.0.0.1:81", weight: 3}
      - {url: "http://[::1]:82", weight: 0, healthy: false}
    health_check:
      path: /healthz
      interval: 10
      timeout: 0.5
      healthy_threshold: 1
      unhealthy_threshold: 4
      expected_statuses: [200, "300-302"]
    circuit_breaker:
      enabled: false
      failure_threshold: 7
      success_threshold: 3
      open_timeout: 12
      open_timeout_jitter: 0.2
      half_open_max_requests: 4
      failure_ratio: 0.3
      window: 20
      window_min_requests: 50
      failure_on_connect_error: false
      failure_on_timeout: false
      failure_on_protocol_error: false
      failure_on_5xx: false
      failure_statuses: [429]
    outlier_detection:
      enabled: false
      consecutive_5xx: 2
      consecutive_gateway_failures: 3
      base_ejection_time: 5
      max_ejection_time: 50
      max_ejection_percent: 50
    retry_budget: {percent: 10, min_retries_per_second: 1, window: 5}
  other:
    lb_strategy: least_connections
  empty:
)");
  const auto& s = c->services.at("svc");
  EXPECT_EQ(s.lb, LbStrategy::kWeighted);
  ASSERT_EQ(s.instances.size(), 2u);
  EXPECT_EQ(s.instances[0].weight, 3u);
  EXPECT_EQ(s.instances[1].host, "::1");
  EXPECT_EQ(s.instances[1].id, "[::1]:82");
  EXPECT_EQ(s.instances[1].weight, 0u);
  EXPECT_FALSE(s.instances[1].healthy);
  EXPECT_TRUE(s.health_check.enabled);
  EXPECT_EQ(s.health_check.path, "/healthz");
  EXPECT_EQ(s.health_check.interval, milliseconds(10'000));
  EXPECT_EQ(s.health_check.timeout, milliseconds(500));
  EXPECT_EQ(s.health_check.healthy_threshold, 1u);
  EXPECT_EQ(s.health_check.unhealthy_threshold, 4u);
  EXPECT_THAT(s.health_check.expected_statuses, ElementsAre(Pair(200u, 200u), Pair(300u, 302u)));
  EXPECT_FALSE(s.circuit_breaker.enabled);
  EXPECT_EQ(s.circuit_breaker.failure_threshold, 7u);
  EXPECT_EQ(s.circuit_breaker.success_threshold, 3u);
  EXPECT_EQ(s.circuit_breaker.open_timeout, milliseconds(12'000));
  EXPECT_DOUBLE_EQ(s.circuit_breaker.open_timeout_jitter, 0.2);
  EXPECT_EQ(s.circuit_breaker.half_open_max_requests, 4u);
  EXPECT_DOUBLE_EQ(s.circuit_breaker.failure_ratio, 0.3);
  EXPECT_EQ(s.circuit_breaker.window, milliseconds(20'000));
  EXPECT_EQ(s.circuit_breaker.window_min_requests, 50u);
  EXPECT_FALSE(s.circuit_breaker.failure_on_connect_error);
  EXPECT_FALSE(s.circuit_breaker.failure_on_timeout);
  EXPECT_FALSE(s.circuit_breaker.failure_on_protocol_error);
  EXPECT_FALSE(s.circuit_breaker.failure_on_5xx);
  EXPECT_THAT(s.circuit_breaker.failure_statuses, ElementsAre(429u));
  EXPECT_FALSE(s.outlier.enabled);
  EXPECT_EQ(s.outlier.consecutive_5xx, 2u);
  EXPECT_EQ(s.outlier.consecutive_gateway_failures, 3u);
  EXPECT_EQ(s.outlier.base_ejection_time, milliseconds(5'000));
  EXPECT_EQ(s.outlier.max_ejection_time, milliseconds(50'000));
  EXPECT_DOUBLE_EQ(s.outlier.max_ejection_percent, 50);
  EXPECT_DOUBLE_EQ(s.retry_budget.budget_percent, 10);
  EXPECT_DOUBLE_EQ(s.retry_budget.min_retries_per_second, 1);
  EXPECT_EQ(s.retry_budget.window, milliseconds(5'000));
  EXPECT_EQ(c->services.at("other").lb, LbStrategy::kLeastConnections);
  EXPECT_TRUE(c->services.at("empty").instances.empty());
}

TEST(ConfigLoader, DefaultsComeFromSettings) {
  Settings s;
  s.raw["LOAD_BALANCER_STRATEGY"] = "random";
  s.raw["UPSTREAM_CONNECT_TIMEOUT_MS"] = "750";
  s.raw["RETRY_MAX_ATTEMPTS"] = "4";
  s.raw["RETRY_MAX_MS"] = "20s";
  s.raw["RETRY_MAX_DELAY_SECONDS"] = "3";
  s.raw["CIRCUIT_BREAKER_FAILURE_THRESHOLD"] = "9";
  s.raw["CIRCUIT_BREAKER_TIMEOUT_SECONDS"] = "30";
  s.raw["RETRY_BUDGET_PERCENT"] = "15";
  auto d = ConfigDefaults::from_settings(s);
  EXPECT_EQ(d.lb, LbStrategy::kRandom);
  EXPECT_EQ(d.connect_timeout, milliseconds(750));
  EXPECT_EQ(d.retry.retry_count, 3u);
  EXPECT_EQ(d.retry.backoff_max, milliseconds(3'000));
  EXPECT_EQ(d.retry.backoff_base, milliseconds(25));
  EXPECT_EQ(d.circuit_breaker.failure_threshold, 9u);
  EXPECT_EQ(d.circuit_breaker.open_timeout, milliseconds(30'000));
  EXPECT_DOUBLE_EQ(d.retry_budget.budget_percent, 15);

  const auto c = parse_config("routes: [{path: /a, service: svc}]\n",
                              "services: {svc: {instances: [{url: 'http://h:1'}]}}\n", d);
  EXPECT_EQ(c->routes[0].connect_timeout, milliseconds(750));
  EXPECT_EQ(c->routes[0].retry.retry_count, 3u);
  EXPECT_EQ(c->services.at("svc").lb, LbStrategy::kRandom);
  EXPECT_EQ(c->services.at("svc").circuit_breaker.failure_threshold, 9u);

  s.raw["RETRY_ENABLED"] = "false";
  EXPECT_EQ(ConfigDefaults::from_settings(s).retry.retry_count, 0u);
}

TEST(ConfigLoader, RouteErrorsNameFileEntryAndField) {
  struct Case {
    std::string yaml;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases{
      {"routes:\n  - path: /a\n    service: project-service\n  - path: /x\n    service: nope\n",
       {"routes.yaml:4", "routes[1] path=/x", "service", "unknown service 'nope'",
        "project-service"}},
      {"routes:\n  - path: /x\n    service: project-service\n    methdos: [GET]\n",
       {"routes.yaml:4", "routes[0] path=/x", "methdos", "unknown field",
        "did you mean 'methods'"}},
      {"routes:\n  - path: /x\n    service: project-service\n    methods: [GET, FETCH]\n",
       {"routes[0] path=/x", "methods", "unknown method 'FETCH'"}},
      {"routes:\n  - path: /x\n    service: project-service\n    timeout: 0\n",
       {"routes[0] path=/x", "timeout", "greater than 0"}},
      {"routes:\n  - path: /x\n    service: project-service\n    timeout: -3\n",
       {"timeout", "greater than 0"}},
      {"routes:\n  - path: /x\n    service: project-service\n    timeout: soon\n",
       {"timeout", "expected a number of seconds"}},
      {"routes:\n  - path: /x\n    service: project-service\n    connect_timeout: 0\n",
       {"connect_timeout", "greater than 0"}},
      {"routes:\n  - path: /x\n    service: project-service\n    rate_limit: 0\n",
       {"rate_limit", "out of range"}},
      {"routes:\n  - path: /x\n    service: project-service\n    auth_required: maybe\n",
       {"auth_required", "expected true or false"}},
      {"routes:\n  - path: x\n    service: project-service\n",
       {"routes[0] path=x", "path", "must start with '/'"}},
      {"routes:\n  - path: /a/{id\n    service: project-service\n",
       {"path", "invalid parameter segment"}},
      {"routes:\n  - path: /a/**/b\n    service: project-service\n",
       {"path", "'**' is only allowed as the last segment"}},
      {"routes:\n  - path: /a/x{id}\n    service: project-service\n",
       {"path", "must be whole segments"}},
      {"routes:\n  - path: /a/../b\n    service: project-service\n", {"path", "dot segments"}},
      {"routes:\n  - path: /a/%2F\n    service: project-service\n", {"path", "invalid segment"}},
      {"routes:\n  - service: project-service\n", {"routes[0]", "path", "is required"}},
      {"routes:\n  - path: /x\n", {"routes[0] path=/x", "service", "is required"}},
      {"routes:\n  - path: /x\n    service: project-service\n    match: regex\n",
       {"match", "expected exact or prefix"}},
      {"routes:\n  - path: /x/**\n    service: project-service\n    match: exact\n",
       {"match", "conflicts"}},
      {"routes:\n  - path: /x/{id}\n    service: project-service\n    match: prefix\n",
       {"path", "match: prefix cannot be combined"}},
      {"routes:\n  - path: /x/{id}\n    service: project-service\n    rewrite_path: /y/{name}\n",
       {"rewrite_path", "{name} is not a parameter"}},
      {"routes:\n  - path: /x/**\n    service: project-service\n    strip_prefix: true\n"
       "    rewrite_path: /y\n",
       {"rewrite_path", "cannot be combined"}},
      {"routes:\n  - path: /x\n    service: project-service\n    rewrite_path: /y\n"
       "    rewrite: /z\n",
       {"rewrite", "same field"}},
      {"routes:\n  - path: /x\n    service: project-service\n    host: 'a b'\n",
       {"host", "expected a host name"}},
      {"routes:\n  - path: /x\n    service: project-service\n    host: 'api.example.com:8080'\n",
       {"host", "without port"}},
      {"routes:\n  - path: /x\n    service: project-service\n    headers: {Host: evil}\n",
       {"headers.Host", "managed by the gateway"}},
      {"routes:\n  - path: /x\n    service: project-service\n    headers: {'Bad Name': v}\n",
       {"headers.Bad Name", "invalid header name"}},
      {"routes:\n  - path: /x\n    service: project-service\n    retry: {count: 99}\n",
       {"retry.count", "out of range"}},
      {"routes:\n  - path: /x\n    service: project-service\n    retry: {on_status: [700]}\n",
       {"retry.on_status", "out of range"}},
      {"routes:\n  - path: /x\n    service: project-service\n    retry: {tries: 2}\n",
       {"retry.tries", "unknown field"}},
      {"routes:\n  - path: /x\n    service: project-service\n    auth: {methods: [basic]}\n",
       {"auth.methods", "expected jwt or api_key"}},
      {"routes:\n  - path: /x\n    service: project-service\n    path: /y\n",
       {"path", "given twice"}},
      {"routes:\n  - path: /x\n    service: project-service\n    methods: []\n",
       {"methods", "at least one method"}},
      {"routes:\n  - path: [/x]\n    service: project-service\n", {"path", "single value"}},
      {"routes:\n  - /x\n", {"routes[0]", "expected a mapping"}},
      {"routes: {path: /x}\n", {"routes", "expected a list"}},
      {"paths: []\n", {"routes.yaml:1", "paths", "unknown field"}},
      {"- a\n", {"routes.yaml", "expected a mapping with 'routes:'"}},
      {"", {"routes.yaml", "expected a mapping"}},
      {"routes:\n  - path: /x\n   service: bad-indent\n", {"routes.yaml:3", "invalid YAML"}},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(c.yaml);
    for (const auto& part : c.parts) EXPECT_THAT(e, HasSubstr(part)) << c.yaml;
  }
}

TEST(ConfigLoader, RouteCorsPolicy) {
  const auto config = parse(R"(routes:
  - path: /a
    service: project-service
    cors:
      allowed_origins: ["https://app.example.com", "https://*.Example.org:8443"]
      allowed_methods: [GET, PUT]
      allowed_headers: [Authorization]
      allow_credentials: true
      max_age: 120
  - path: /b
    service: project-service
    cors: false
  - path: /c
    service: project-service
    cors:
      allowed_origins: ["*"]
  - path: /d
    service: project-service
)");
  ASSERT_EQ(config->routes.size(), 4u);
  const auto& a = config->routes[0].cors;
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->enabled());
  EXPECT_EQ(a->allow_origin("https://app.example.com"), "https://app.example.com");
  EXPECT_EQ(a->allow_origin("https://x.example.org:8443"), "https://x.example.org:8443");
  EXPECT_FALSE(a->allow_origin("https://x.example.org"));
  EXPECT_FALSE(a->allow_origin("https://evil.test"));
  EXPECT_TRUE(a->method_allowed("put"));
  EXPECT_FALSE(a->method_allowed("DELETE"));
  EXPECT_TRUE(a->options().allow_credentials);
  EXPECT_EQ(a->options().max_age, std::chrono::seconds(120));
  // Exposed headers were not given: the defaults, rate-limit headers included.
  EXPECT_THAT(a->exposed_value(), HasSubstr("X-RateLimit-Remaining"));
  EXPECT_THAT(a->exposed_value(), HasSubstr("Retry-After"));
  ASSERT_TRUE(config->routes[1].cors);
  EXPECT_FALSE(config->routes[1].cors->enabled());
  ASSERT_TRUE(config->routes[2].cors);
  EXPECT_EQ(config->routes[2].cors->allow_origin("https://any.test"), "*");
  EXPECT_FALSE(config->routes[3].cors) << "no cors: the global policy applies";
}

TEST(ConfigLoader, RouteCorsErrorsNameFileEntryAndField) {
  struct Case {
    std::string cors;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases{
      {"    cors:\n      allowed_origins: [\"https://a.test\", \"*\"]\n      "
       "allow_credentials: true\n",
       {"routes.yaml:5", "routes[0] path=/x", "cors.allowed_origins[1]",
        "cannot be combined with allow_credentials"}},
      {"    cors:\n      allowed_origins:\n        - https://a.test\n        - "
       "https://a.test/path\n",
       {"routes.yaml:7", "routes[0] path=/x", "cors.allowed_origins[1]", "is not an origin"}},
      {"    cors:\n      allowed_origins: [\"https://*.*.test\"]\n",
       {"cors.allowed_origins[0]", "is not an origin"}},
      {"    cors:\n      allowed_methods: [\"GET POST\"]\n",
       {"cors.allowed_methods[0]", "not a method name"}},
      {"    cors:\n      exposed_headers: [\"*\"]\n      allow_credentials: true\n      "
       "allowed_origins: [\"https://a.test\"]\n",
       {"cors.exposed_headers[0]", "credentialed"}},
      {"    cors:\n      max_age: 90000\n", {"cors.max_age", "out of range"}},
      {"    cors:\n      allowed_origin: [\"https://a.test\"]\n",
       {"cors.allowed_origin", "unknown field", "did you mean 'allowed_origins'"}},
      {"    cors:\n      allow_credentials: sometimes\n",
       {"cors.allow_credentials", "expected true or false"}},
      {"    cors: maybe\n", {"routes[0] path=/x", "cors", "expected true or false"}},
  };
  for (const auto& c : cases) {
    const std::string yaml = "routes:\n  - path: /x\n    service: project-service\n" + c.cors;
    const std::string err = error_of(yaml);
    for (const auto& part : c.parts) EXPECT_THAT(err, HasSubstr(part)) << yaml;
  }
}

TEST(ConfigLoader, DuplicateRoutes) {
  const std::string svc = "    service: project-service\n";
  // Same path and an overlapping method.
  EXPECT_THAT(
      error_of("routes:\n  - path: /x\n" + svc + "  - path: /x\n" + svc),
      AllOf(HasSubstr("routes[1] path=/x"), HasSubstr("duplicate route"), HasSubstr("routes[0]")));
  EXPECT_THAT(error_of("routes:\n  - path: /x\n    methods: [GET, POST]\n" + svc +
                       "  - path: /x\n    methods: [POST]\n" + svc),
              HasSubstr("duplicate route"));
  // HEAD overlaps GET.
  EXPECT_THAT(
      error_of("routes:\n  - path: /x\n" + svc + "  - path: /x\n    methods: [HEAD]\n" + svc),
      HasSubstr("duplicate route"));
  // Parameter names do not make patterns different; /a/* and /a/** and match: prefix neither.
  EXPECT_THAT(error_of("routes:\n  - path: /u/{id}\n" + svc + "  - path: /u/{name}\n" + svc),
              HasSubstr("duplicate route"));
  EXPECT_THAT(error_of("routes:\n  - path: /a/*\n" + svc + "  - path: /a/**\n" + svc),
              HasSubstr("duplicate route"));
  EXPECT_THAT(
      error_of("routes:\n  - path: /a\n    match: prefix\n" + svc + "  - path: /a/**\n" + svc),
      HasSubstr("duplicate route"));
  // Different methods, hosts, match kinds, or a disabled twin are fine.
  EXPECT_NO_THROW(
      parse("routes:\n  - path: /x\n" + svc + "  - path: /x\n    methods: [POST]\n" + svc));
  EXPECT_NO_THROW(
      parse("routes:\n  - path: /x\n" + svc + "  - path: /x\n    host: a.example\n" + svc));
  EXPECT_NO_THROW(
      parse("routes:\n  - path: /x\n" + svc + "  - path: /x\n    match: prefix\n" + svc));
  EXPECT_NO_THROW(
      parse("routes:\n  - path: /x\n" + svc + "  - path: /x\n    enabled: false\n" + svc));
  // Names must be unique.
  EXPECT_THAT(
      error_of("routes:\n  - path: /x\n    name: n\n" + svc + "  - path: /y\n    name: n\n" + svc),
      AllOf(HasSubstr("routes[1] path=/y"), HasSubstr("name"), HasSubstr("already used")));
}

TEST(ConfigLoader, ServiceErrors) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases{
      {"services:\n  s:\n    instances:\n      - url: ftp://h:1\n",
       {"services.yaml:4", "services.s", "instances[0] url=ftp://h:1", "scheme must be http"}},
      {"services:\n  s:\n    instances:\n      - url: http://:80\n", {"a host is required"}},
      {"services:\n  s:\n    instances:\n      - url: http://h:70000\n", {"port must be 1-65535"}},
      {"services:\n  s:\n    instances:\n      - url: http://h:0\n", {"port must be 1-65535"}},
      {"services:\n  s:\n    instances:\n      - url: http://h:1/base\n",
       {"a path is not supported"}},
      {"services:\n  s:\n    instances:\n      - url: http://h:1/?a=1\n", {"query"}},
      {"services:\n  s:\n    instances:\n      - url: http://u:p@h:1\n", {"credentials"}},
      {"services:\n  s:\n    instances:\n      - url: not a url\n", {"not a valid absolute URL"}},
      {"services:\n  s:\n    instances:\n      - url: h:1\n", {"scheme must be http"}},
      {"services:\n  s:\n    instances:\n      - weight: 1\n",
       {"instances[0]", "url", "is required"}},
      {"services:\n  s:\n    instances:\n      - url: http://h:1\n        weight: 0\n",
       {"services.s", "weight", "only instance"}},
      {"services:\n  s:\n    instances:\n      - {url: 'http://a:1', weight: 0}\n"
       "      - {url: 'http://b:1', weight: 0}\n",
       {"weight", "every instance has weight 0"}},
      {"services:\n  s:\n    instances:\n      - {url: 'http://a:1', weight: -1}\n",
       {"weight", "out of range"}},
      {"services:\n  s:\n    instances:\n      - url: http://a:1\n      - url: HTTP://A:1/\n",
       {"instances[1]", "listed twice"}},
      {"services:\n  s:\n    instances:\n      - url: http://a\n      - url: http://a:80\n",
       {"listed twice"}},
      {"services:\n  s:\n    instances:\n      - {url: 'http://a:1', healty: true}\n",
       {"healty", "unknown field", "did you mean 'healthy'"}},
      {"services:\n  s:\n    load_balancer: fastest\n", {"load_balancer", "expected round_robin"}},
      {"services:\n  s:\n    load_balancer: random\n    lb_strategy: random\n", {"same field"}},
      {"services:\n  s:\n    health_check: {interval: 1, timeout: 2}\n",
       {"health_check.timeout", "longer than the interval"}},
      {"services:\n  s:\n    health_check: {path: health}\n", {"health_check.path", "'/'"}},
      {"services:\n  s:\n    health_check: {expected_statuses: [\"300-200\"]}\n",
       {"expected_statuses", "300-200"}},
      {"services:\n  s:\n    health_check: {interval: 0}\n", {"interval", "greater than 0"}},
      {"services:\n  s:\n    circuit_breaker: {failure_ratio: 2}\n",
       {"circuit_breaker.failure_ratio", "out of range"}},
      {"services:\n  s:\n    outlier_detection: {base_ejection_time: 10, max_ejection_time: 5}\n",
       {"max_ejection_time", "shorter"}},
      {"services:\n  s:\n    retry_budget: {percent: 120}\n", {"retry_budget.percent"}},
      {"services:\n  internal:\n    instances: []\n", {"services.internal", "reserved"}},
      {"services:\n  'bad name':\n    instances: []\n", {"service names"}},
      {"services:\n  s:\n    instance: []\n", {"instance", "did you mean 'instances'"}},
      {"services: [a]\n", {"services", "expected a mapping"}},
      {"servics: {}\n", {"servics", "unknown field"}},
  };
  for (const auto& [yaml, parts] : cases) {
    const std::string e = service_error(yaml);
    for (const auto& part : parts) EXPECT_THAT(e, HasSubstr(part)) << yaml;
  }
}

TEST(ConfigLoader, ServiceInternalNeedsNoDeclaration) {
  const auto c = parse("routes:\n  - path: /metrics\n    service: internal\n", "services: {}\n");
  EXPECT_EQ(c->routes[0].service, "internal");
  EXPECT_THAT(error_of("routes:\n  - path: /x\n    service: s\n", "services:\n"),
              HasSubstr("services.yaml declares none"));
}

TEST(ConfigLoader, LoadsFilesAndNamesThemInErrors) {
  test::TempDir dir{"gatewayd-config"};
  const auto routes = dir.write_file("routes.yaml", "routes:\n  - path: /a\n    service: s\n");
  const auto services =
      dir.write_file("services.yaml", "services:\n  s:\n    instances: [{url: 'http://h:1'}]\n");
  const auto c = load_config(routes.string(), services.string());
  EXPECT_EQ(c->routes.size(), 1u);
  EXPECT_THAT(c->routes[0].source, HasSubstr(routes.string() + ":2"));

  dir.write_file("routes.yaml", "routes:\n  - path: /a\n    service: t\n");
  try {
    load_config(routes.string(), services.string());
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr(routes.string() + ":2: routes[0] path=/a: service"));
  }
  EXPECT_THROW(load_config((dir.path() / "missing.yaml").string(), services.string()), ConfigError);

  // Through the settings: CONFIG_DIR, ROUTES_FILE, SERVICES_FILE.
  dir.write_file("conf/r.yaml", "routes: [{path: /b, service: s}]\n");
  dir.write_file("conf/s.yaml", "services: {s: {instances: [{url: 'http://h:2'}]}}\n");
  Settings s;
  s.config_dir = (dir.path() / "conf").string();
  s.routes_file = "r.yaml";
  s.services_file = "s.yaml";
  EXPECT_EQ(routes_path(s), (dir.path() / "conf" / "r.yaml").string());
  const auto c2 = load_config(s);
  EXPECT_EQ(c2->routes.at(0).path, "/b");
}

TEST(ConfigLoader, FinalizeValidatesConfigsBuiltInCode) {
  Config cfg;
  ServiceConfig svc;
  svc.name = "s";
  svc.source = "database services.s";
  InstanceConfig inst;
  inst.url = "http://127.0.0.1:9000";
  svc.instances.push_back(inst);
  cfg.services.emplace("s", svc);
  RouteConfig r;
  r.path = "/api/**";
  r.service = "s";
  r.methods = {"get"};
  r.source = "database routes id=4";
  cfg.routes.push_back(r);
  cfg.generation = 7;
  const auto c = finalize_config(cfg);
  EXPECT_EQ(c->generation, 7u);
  EXPECT_EQ(c->routes[0].match, MatchKind::kPrefix);
  EXPECT_EQ(c->routes[0].name, "GET /api/**");
  EXPECT_THAT(c->routes[0].methods, ElementsAre("GET"));
  EXPECT_EQ(c->services.at("s").instances[0].port, 9000);
  EXPECT_EQ(c->router->match("h", "/api/x", "GET").status, MatchStatus::kMatched);

  cfg.routes[0].service = "gone";
  try {
    finalize_config(cfg);
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("database routes id=4 path=/api/**: service: unknown service"));
  }
}

TEST(ConfigLoader, BundledSampleConfig) {
  const std::filesystem::path root =
#ifdef GATEWAYD_SOURCE_DIR
      GATEWAYD_SOURCE_DIR;
#else
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
#endif
  const auto c =
      load_config((root / "config/routes.yaml").string(), (root / "config/services.yaml").string());
  const auto m = c->router->match("localhost", "/demo/hello", "GET");
  ASSERT_EQ(m.status, MatchStatus::kMatched);
  EXPECT_EQ(m.route->service, "demo");
  EXPECT_FALSE(m.route->auth_required);
  EXPECT_EQ(upstream_path(*m.route, m, "/demo/hello"), "/hello");
  const auto& demo = c->services.at("demo");
  ASSERT_FALSE(demo.instances.empty());
  EXPECT_EQ(demo.instances[0].host, "127.0.0.1");
  EXPECT_EQ(demo.instances[0].port, 8002);
  EXPECT_EQ(c->router->match("localhost", "/demox", "GET").status, MatchStatus::kNotFound);
}

}  // namespace
}  // namespace gatewayd
