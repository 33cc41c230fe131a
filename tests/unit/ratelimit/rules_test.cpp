#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "filters/rate_limit/path_glob.hpp"
#include "filters/rate_limit/rate_limit_rule.hpp"
#include "filters/rate_limit/rule_table.hpp"
#include "gatewayd/config.hpp"

namespace gatewayd::ratelimit {
namespace {

bool glob(std::string_view pattern, std::string_view path) {
  auto g = PathGlob::compile(pattern);
  EXPECT_TRUE(g.has_value()) << pattern;
  return g && g->matches(path);
}

TEST(PathGlob, SingleStarStaysInsideOneSegment) {
  EXPECT_TRUE(glob("/users/*/posts", "/users/42/posts"));
  EXPECT_FALSE(glob("/users/*/posts", "/users/42/x/posts"));
  EXPECT_TRUE(glob("/api/v*/users", "/api/v2/users"));
  EXPECT_FALSE(glob("/api/v*/users", "/api/v2/x/users"));
}

TEST(PathGlob, DoubleStarCrossesSegments) {
  EXPECT_TRUE(glob("/api/**/admin", "/api/a/b/c/admin"));
  EXPECT_TRUE(glob("/api/**/admin", "/api//admin"));
  EXPECT_FALSE(glob("/api/**/admin", "/api/a/b/c/admins"));
}

TEST(PathGlob, TrailingWildcardIsAPrefixAtASegmentBoundary) {
  for (const char* pattern : {"/api/**", "/api/*"}) {
    EXPECT_TRUE(glob(pattern, "/api")) << pattern;
    EXPECT_TRUE(glob(pattern, "/api/")) << pattern;
    EXPECT_TRUE(glob(pattern, "/api/v1/users")) << pattern;
    EXPECT_FALSE(glob(pattern, "/apis")) << pattern;
    EXPECT_FALSE(glob(pattern, "/other/api")) << pattern;
  }
}

TEST(PathGlob, ExactAndMatchAll) {
  EXPECT_TRUE(glob("/login", "/login"));
  EXPECT_FALSE(glob("/login", "/login/x"));
  EXPECT_TRUE(glob("", "/anything/at/all"));
  EXPECT_TRUE(glob("**", "/x"));
  EXPECT_TRUE(glob("/**", "/"));
  EXPECT_FALSE(PathGlob::compile("relative/path").has_value());
}

TEST(PathGlob, LongHostilePathsStayCheap) {
  // Linear simulation: a pathological pattern against a long path returns promptly.
  const std::string path(8000, 'a');
  EXPECT_FALSE(glob("/*a*a*a*a*a*a*a*a*b", "/" + path));
  EXPECT_TRUE(glob("/**a**a**a", "/" + path));
}

TEST(RuleSpec, CompilesToATokenBucket) {
  RateLimitRuleSpec spec;
  spec.rule_name = "login";
  spec.limit_type = LimitType::kPerIp;
  spec.path_pattern = "/auth/**";
  spec.max_requests = 10;
  spec.window_seconds = 60;
  const RateLimitRule rule = compile_rule(spec);
  EXPECT_DOUBLE_EQ(rule.bucket.capacity, 10);
  EXPECT_DOUBLE_EQ(rule.bucket.refill_per_second, 10.0 / 60.0);
  EXPECT_EQ(rule.window_type, "minute");
  EXPECT_EQ(rule.route_path, "rule:login");
  spec.burst = 25;
  EXPECT_DOUBLE_EQ(compile_rule(spec).bucket.capacity, 25);
  EXPECT_EQ(limit_type_name(rule.type), "per_ip");
}

TEST(RuleSpec, ValidationNamesTheField) {
  RateLimitRuleSpec spec;
  spec.rule_name = "ok";
  spec.max_requests = 1;
  EXPECT_FALSE(validate_rule_spec(spec).has_value());
  auto bad = spec;
  bad.max_requests = 0;
  EXPECT_NE(validate_rule_spec(bad)->find("max_requests"), std::string::npos);
  bad = spec;
  bad.window_seconds = 0;
  EXPECT_NE(validate_rule_spec(bad)->find("window_seconds"), std::string::npos);
  bad = spec;
  bad.rule_name = "has space";
  EXPECT_NE(validate_rule_spec(bad)->find("rule_name"), std::string::npos);
  bad = spec;
  bad.burst = 0;
  EXPECT_NE(validate_rule_spec(bad)->find("burst"), std::string::npos);
  bad = spec;
  bad.path_pattern = "nope";
  EXPECT_NE(validate_rule_spec(bad)->find("path_pattern"), std::string::npos);
  EXPECT_THROW(compile_rule(bad), std::invalid_argument);
}

TEST(RuleSpec, LimitTypeNames) {
  EXPECT_EQ(parse_limit_type("per_user"), LimitType::kPerUser);
  EXPECT_EQ(parse_limit_type("PER_IP"), LimitType::kPerIp);
  EXPECT_EQ(parse_limit_type("per_api_key"), LimitType::kPerApiKey);
  EXPECT_EQ(parse_limit_type("per_endpoint"), LimitType::kPerEndpoint);
  EXPECT_EQ(parse_limit_type("global"), LimitType::kGlobal);
  EXPECT_FALSE(parse_limit_type("per_caller"));
  EXPECT_FALSE(parse_limit_type("bogus"));
}

TEST(RouteRule, RequestsPerMinuteBecomeCapacityAndRefill) {
  RouteConfig route;
  route.name = "GET /projects";
  route.path = "/projects";
  route.rate_limit = 120;
  const RateLimitRule rule = route_rule(route, *route.rate_limit);
  EXPECT_EQ(rule.name, "GET /projects");
  EXPECT_EQ(rule.type, LimitType::kPerCaller);
  EXPECT_DOUBLE_EQ(rule.bucket.capacity, 120);
  EXPECT_DOUBLE_EQ(rule.bucket.refill_per_second, 2);
  EXPECT_EQ(rule.limit, 120u);
  EXPECT_EQ(rule.window_seconds, 60u);
  EXPECT_EQ(rule.route_path, "/projects");
}

TEST(RuleTable, MatchesActiveRulesInOrder) {
  std::vector<RateLimitRuleSpec> specs(3);
  specs[0] = {"api", LimitType::kPerIp, "/api/**", 100, 60, std::nullopt, true};
  specs[1] = {"off", LimitType::kGlobal, "", 1, 1, std::nullopt, false};
  specs[2] = {"all", LimitType::kGlobal, "", 1000, 1, std::nullopt, true};
  const auto table = RuleTable::build(specs);
  ASSERT_EQ(table->rules().size(), 2u);
  std::vector<const RateLimitRule*> out;
  table->match("/api/x", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->name, "api");
  EXPECT_EQ(out[1]->name, "all");
  out.clear();
  table->match("/web", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->name, "all");

  specs[1] = specs[0];
  EXPECT_THROW(RuleTable::build(specs), std::invalid_argument);  // duplicate name
}

TEST(RuleSpecYaml, ParsesTheRuleSetFormat) {
  const YAML::Node root = YAML::Load(R"(
rate_limit_rules:
  - rule_name: per-user-api
    limit_type: per_user
    path_pattern: /api/**
    max_requests: 1000
    window_seconds: 3600
    burst: 50
  - rule_name: global
    limit_type: global
    max_requests: 5000
    window_seconds: 1
    is_active: false
)");
  const auto specs = parse_rule_specs(root["rate_limit_rules"], "rules.yaml");
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].rule_name, "per-user-api");
  EXPECT_EQ(specs[0].limit_type, LimitType::kPerUser);
  EXPECT_EQ(specs[0].burst, 50u);
  EXPECT_EQ(specs[0].window_seconds, 3600u);
  EXPECT_FALSE(specs[1].is_active);

  const YAML::Node bad = YAML::Load(R"([{rule_name: x, limit_type: per_moon, max_requests: 1}])");
  try {
    parse_rule_specs(bad, "rules.yaml");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rules.yaml rate_limit_rules[0]"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("limit_type"), std::string::npos);
  }
  const YAML::Node unknown = YAML::Load(R"([{rule_name: x, max_requests: 1, colour: red}])");
  EXPECT_THROW(parse_rule_specs(unknown, "r"), std::invalid_argument);
}

TEST(RuleSpecJson, RoundTripAndErrors) {
  const auto spec = rule_spec_from_json(nlohmann::json::parse(R"({
    "rule_name": "keys", "limit_type": "per_api_key", "path_pattern": "/v1/**",
    "max_requests": 600, "window_seconds": 60, "burst": 100, "is_active": 1})"));
  EXPECT_EQ(spec.rule_name, "keys");
  EXPECT_EQ(spec.limit_type, LimitType::kPerApiKey);
  EXPECT_EQ(spec.burst, 100u);
  EXPECT_TRUE(spec.is_active);
  const auto back = rule_spec_from_json(rule_spec_to_json(spec));
  EXPECT_EQ(back.rule_name, spec.rule_name);
  EXPECT_EQ(back.max_requests, 600u);
  EXPECT_EQ(back.burst, 100u);
  EXPECT_EQ(back.path_pattern, "/v1/**");

  EXPECT_THROW(rule_spec_from_json(nlohmann::json::parse(R"({"rule_name":"x","max_requests":-1})")),
               std::invalid_argument);
  EXPECT_THROW(
      rule_spec_from_json(nlohmann::json::parse(R"({"rule_name":"x","max_requests":1,"x":1})")),
      std::invalid_argument);
  EXPECT_THROW(rule_spec_from_json(nlohmann::json::parse(R"({"rule_name":"x"})")),
               std::invalid_argument);  // max_requests missing
}

}  // namespace
}  // namespace gatewayd::ratelimit
