#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gatewayd/router.hpp"

namespace gatewayd {
namespace {

struct Case {
  std::string pattern;
  std::string path;
  std::string upstream;
};

std::string forward(RouteConfig r, std::string_view path) {
  std::vector<RouteConfig> routes{std::move(r)};
  routes[0].service = "svc";
  const Router router(routes);
  const auto m = router.match("h", path, "GET");
  EXPECT_EQ(m.status, MatchStatus::kMatched) << routes[0].path << " " << path;
  return upstream_path(routes[0], m, path);
}

RouteConfig route(std::string pattern) {
  RouteConfig r;
  r.path = std::move(pattern);
  r.methods = {"GET"};
  return r;
}

TEST(UpstreamPath, UnchangedWithoutOptions) {
  EXPECT_EQ(forward(route("/demo/**"), "/demo/hello"), "/demo/hello");
  EXPECT_EQ(forward(route("/a/**"), "/a//b"), "/a//b");
}

TEST(UpstreamPath, StripPrefixRemovesTheLiteralPrefix) {
  const std::vector<Case> cases{
      {"/demo/**", "/demo/hello", "/hello"},
      {"/demo/**", "/demo", "/"},
      {"/demo/**", "/demo/", "/"},
      {"/demo/*", "/demo/a/b", "/a/b"},
      {"/api/v1/**", "/api/v1/users/7", "/users/7"},
      {"/api/v1/**", "/api/v1//x", "//x"},
      {"/a/b", "/a/b", "/"},
      {"/**", "/x/y", "/x/y"},
      {"/api/{version}/users/**", "/api/v2/users/9", "/v2/users/9"},
      {"/users/{id}", "/users/5", "/5"},
  };
  for (const auto& c : cases) {
    auto r = route(c.pattern);
    r.strip_prefix = true;
    EXPECT_EQ(forward(r, c.path), c.upstream) << c.pattern << " " << c.path;
  }
  auto prefix = route("/static");
  prefix.match = MatchKind::kPrefix;
  prefix.strip_prefix = true;
  EXPECT_EQ(forward(prefix, "/static/css/a.css"), "/css/a.css");
  EXPECT_EQ(forward(prefix, "/static"), "/");
}

TEST(UpstreamPath, RewriteSubstitutesParameters) {
  auto r = route("/api/users/{id}/posts/{post}");
  r.rewrite_path = "/v2/posts/{post}/owner/{id}";
  EXPECT_EQ(forward(r, "/api/users/u1/posts/p9"), "/v2/posts/p9/owner/u1");

  r = route("/users/{id}");
  r.rewrite_path = "/people/{id}/{id}";
  EXPECT_EQ(forward(r, "/users/a%20b"), "/people/a%20b/a%20b");

  r = route("/old/**");
  r.rewrite_path = "/new";
  EXPECT_EQ(forward(r, "/old/a/b"), "/new");
}

}  // namespace
}  // namespace gatewayd
