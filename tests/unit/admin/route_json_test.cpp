// Route objects parsed with the routes.yaml rules, field extraction from loader messages, and
// the round trip through a `routes` row.
#include "admin/route_json.hpp"

#include <gtest/gtest.h>

#include "admin/field_error.hpp"

namespace gatewayd::admin {
namespace {

using nlohmann::json;

RouteConfig parsed(const json& object) {
  auto result = parse_route_object(object, {"users"}, ConfigDefaults{});
  if (auto* error = std::get_if<FieldError>(&result)) {
    ADD_FAILURE() << error->field << ": " << error->message;
    return {};
  }
  return std::get<RouteConfig>(result);
}

TEST(RouteJsonTest, ParsesWithTheFileRules) {
  const auto r = parsed({{"path", "/a/{id}"},
                         {"service", "users"},
                         {"methods", {"get", "post"}},
                         {"timeout", 1.5},
                         {"headers", {{"X-A", "1"}}}});
  EXPECT_EQ(r.name, "GET,POST /a/{id}");
  EXPECT_EQ(r.match, MatchKind::kTemplate);
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(1500));
  ASSERT_EQ(r.headers.size(), 1u);

  auto bad = parse_route_object({{"path", "/a"}, {"service", "users"}, {"timout", 3}}, {"users"},
                                ConfigDefaults{});
  ASSERT_TRUE(std::holds_alternative<FieldError>(bad));
  EXPECT_EQ(std::get<FieldError>(bad).field, "timout");
  EXPECT_NE(std::get<FieldError>(bad).message.find("did you mean"), std::string::npos)
      << std::get<FieldError>(bad).message;

  bad = parse_route_object({{"path", "/a"}, {"service", "orders"}}, {"users"}, ConfigDefaults{});
  ASSERT_TRUE(std::holds_alternative<FieldError>(bad));
  EXPECT_EQ(std::get<FieldError>(bad).field, "service");
  EXPECT_NE(std::get<FieldError>(bad).message.find("known: users"), std::string::npos);

  bad = parse_route_object({{"path", ""}, {"service", "users"}}, {"users"}, ConfigDefaults{});
  ASSERT_TRUE(std::holds_alternative<FieldError>(bad));
  EXPECT_EQ(std::get<FieldError>(bad).field, "path");

  bad = parse_route_object(json::array(), {"users"}, ConfigDefaults{});
  EXPECT_EQ(std::get<FieldError>(bad).field, "route");
}

TEST(RouteJsonTest, FieldErrorsFromLoaderMessages) {
  auto e = field_error_from("admin-api routes.id=3 path=/x: service: unknown service 'a'",
                            "admin-api routes.id=3", "/x");
  EXPECT_EQ(e.field, "service");
  EXPECT_EQ(e.message, "unknown service 'a'");
  e = field_error_from("route:1: routes[0]: path: is required", "route:1: routes[0]", "");
  EXPECT_EQ(e.field, "path");
  e = field_error_from("config: something odd", "route:1: routes[0]", "/x");
  EXPECT_EQ(e.field, "route");
  EXPECT_EQ(e.message, "something odd");

  EXPECT_EQ(split_field_message("max_requests: must be at least 1", "rule").field, "max_requests");
  EXPECT_EQ(split_field_message("unknown field 'colour'", "rule").field, "colour");
  EXPECT_EQ(split_field_message("rule: expected a JSON object", "x").field, "rule");
  EXPECT_EQ(split_field_message("something went wrong: badly", "rule").field, "rule");
}

TEST(RouteJsonTest, RowRoundTrip) {
  const json object = {
      {"name", "n"},     {"path", "/p/**"},     {"service", "users"}, {"methods", {"PUT", "GET"}},
      {"timeout", 0.25}, {"host", "a.example"}, {"rate_limit", 7},    {"rewrite", "/q"}};
  auto route = parsed(object);
  // Read-only fields of the admin view never reach `extra`.
  json sent = object;
  sent["id"] = 99;
  sent["source"] = "api";
  const auto row = row_from_route(route, sent, true);
  EXPECT_EQ(row.methods, "GET,PUT");
  EXPECT_EQ(row.timeout_seconds, 1u);
  EXPECT_EQ(row.rewrite_path, "/q");
  const json extra = json::parse(row.extra_json);
  EXPECT_EQ(extra, json({{"host", "a.example"}, {"timeout", 0.25}}));

  const auto again = parsed(object_from_row(row));
  EXPECT_EQ(again.name, route.name);
  EXPECT_EQ(again.timeout, route.timeout);
  EXPECT_EQ(again.host, route.host);
  EXPECT_EQ(again.rate_limit, route.rate_limit);
  EXPECT_EQ(again.rewrite_path, route.rewrite_path);
}

TEST(RouteJsonTest, ApiRouteSources) {
  RouteConfig r;
  r.source = api_route_source(12);
  EXPECT_EQ(api_route_id(r), 12u);
  r.source = "config/routes.yaml:3: routes[0]";
  EXPECT_FALSE(api_route_id(r).has_value());
}

TEST(RouteJsonTest, RedactsCredentialHeaders) {
  RouteConfig r;
  r.headers = {{"Authorization", "Bearer x"}, {"X-Api-Key", "k"}, {"X-Trace", "on"}};
  const json j = route_to_json(r);
  EXPECT_EQ(j["headers"]["Authorization"], "REDACTED");
  EXPECT_EQ(j["headers"]["X-Api-Key"], "REDACTED");
  EXPECT_EQ(j["headers"]["X-Trace"], "on");
}

}  // namespace
}  // namespace gatewayd::admin
