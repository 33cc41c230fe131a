#include "gatewayd/router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gatewayd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

RouteConfig make(std::string path, std::vector<std::string> methods = {"GET"},
                 std::string name = {}) {
  RouteConfig r;
  r.path = std::move(path);
  r.methods = std::move(methods);
  r.service = "svc";
  r.name = name.empty() ? r.path : std::move(name);
  return r;
}

// Name of the route a request resolves to, or "404" / "405 <Allow>".
class Table {
 public:
  explicit Table(std::vector<RouteConfig> routes) : routes_(std::move(routes)), router_(routes_) {}

  std::string resolve(std::string_view path, std::string_view method = "GET",
                      std::string_view host = "example.org") const {
    const auto m = router_.match(host, path, method);
    switch (m.status) {
      case MatchStatus::kMatched:
        return m.route->name;
      case MatchStatus::kNotFound:
        return "404";
      case MatchStatus::kMethodNotAllowed:
        return "405 " + m.allow;
    }
    return "?";
  }
  RouteMatch match(std::string_view path, std::string_view method = "GET",
                   std::string_view host = "example.org") const {
    return router_.match(host, path, method);
  }

 private:
  std::vector<RouteConfig> routes_;
  Router router_;
};

TEST(Router, EmptyTableFindsNothing) {
  const Table t({});
  EXPECT_EQ(t.resolve("/"), "404");
  EXPECT_EQ(t.resolve("/a"), "404");
}

TEST(Router, ExactPaths) {
  const Table t(
      {make("/a/b", {"GET"}, "ab"), make("/", {"GET"}, "root"), make("/a/", {"GET"}, "a-slash")});
  EXPECT_EQ(t.resolve("/a/b"), "ab");
  EXPECT_EQ(t.resolve("/"), "root");
  EXPECT_EQ(t.resolve("/a/"), "a-slash");
  EXPECT_EQ(t.resolve("/a"), "404");
  EXPECT_EQ(t.resolve("/a/b/"), "404");
  EXPECT_EQ(t.resolve("/a/bc"), "404");
  EXPECT_EQ(t.resolve("/A/B"), "404");  // paths are case-sensitive
}

TEST(Router, MatchPointsIntoTheRouteTable) {
  std::vector<RouteConfig> routes{make("/x"), make("/y")};
  const Router router(routes);
  const auto m = router.match("h", "/y", "GET");
  ASSERT_EQ(m.status, MatchStatus::kMatched);
  EXPECT_EQ(m.route, &routes[1]);
  EXPECT_EQ(m.route_index, 1u);
  EXPECT_THAT(m.params, IsEmpty());
  EXPECT_EQ(m.params.capacity(), 0u);  // no allocation without parameters
  EXPECT_THAT(m.allow, IsEmpty());
}

TEST(Router, PrefixRespectsSegmentBoundaries) {
  for (const char* pattern : {"/api/v1/projects/**", "/api/v1/projects/*"}) {
    const Table t({make(pattern, {"GET"}, "p")});
    EXPECT_EQ(t.resolve("/api/v1/projects"), "p") << pattern;
    EXPECT_EQ(t.resolve("/api/v1/projects/"), "p") << pattern;
    EXPECT_EQ(t.resolve("/api/v1/projects/1"), "p") << pattern;
    EXPECT_EQ(t.resolve("/api/v1/projects/1/tasks/2"), "p") << pattern;
    EXPECT_EQ(t.resolve("/api/v1/projectsX"), "404") << pattern;
    EXPECT_EQ(t.resolve("/api/v1/projectsX/1"), "404") << pattern;
    EXPECT_EQ(t.resolve("/api/v1/project"), "404") << pattern;
    EXPECT_EQ(t.resolve("/api/v1"), "404") << pattern;
  }
}

TEST(Router, MatchPrefixOnAPlainPath) {
  auto r = make("/static", {"GET"}, "s");
  r.match = MatchKind::kPrefix;
  auto slash = make("/files/", {"GET"}, "f");
  slash.match = MatchKind::kPrefix;
  const Table t({r, slash});
  EXPECT_EQ(t.resolve("/static"), "s");
  EXPECT_EQ(t.resolve("/static/css/x.css"), "s");
  EXPECT_EQ(t.resolve("/staticfiles"), "404");
  EXPECT_EQ(t.resolve("/files"), "f");
  EXPECT_EQ(t.resolve("/files/a"), "f");
  EXPECT_EQ(t.resolve("/filesX"), "404");
}

TEST(Router, CatchAll) {
  auto root_prefix = make("/", {"GET"}, "root-prefix");
  root_prefix.match = MatchKind::kPrefix;
  const Table a({make("/**", {"GET"}, "all")});
  EXPECT_EQ(a.resolve("/"), "all");
  EXPECT_EQ(a.resolve("/x/y"), "all");
  const Table b({root_prefix});
  EXPECT_EQ(b.resolve("/"), "root-prefix");
  EXPECT_EQ(b.resolve("/anything"), "root-prefix");
}

TEST(Router, Parameters) {
  const Table t(
      {make("/users/{id}", {"GET"}, "user"), make("/orgs/{org}/repos/{repo}", {"GET"}, "repo")});
  auto m = t.match("/users/42");
  ASSERT_EQ(m.status, MatchStatus::kMatched);
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "42")));
  m = t.match("/orgs/acme/repos/gw");
  ASSERT_EQ(m.status, MatchStatus::kMatched);
  EXPECT_THAT(m.params, ElementsAre(Pair("org", "acme"), Pair("repo", "gw")));
  EXPECT_EQ(t.resolve("/users"), "404");
  EXPECT_EQ(t.resolve("/users/"), "404");  // a parameter is never empty
  EXPECT_EQ(t.resolve("/users/42/"), "404");
  EXPECT_EQ(t.resolve("/users/42/x"), "404");
  EXPECT_EQ(t.resolve("/orgs/acme/repos"), "404");
  EXPECT_EQ(t.resolve("/users/a%20b"), "user");
}

TEST(Router, ParameterValuesAreViewsIntoThePath) {
  const Table t({make("/users/{id}")});
  const std::string path = "/users/abc";
  const auto m = t.match(path);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second.data(), path.data() + 7);
}

TEST(Router, SingleSegmentWildcardAndTemplateTail) {
  const Table t(
      {make("/files/*/meta", {"GET"}, "meta"), make("/users/{id}/**", {"GET"}, "user-tree")});
  EXPECT_EQ(t.resolve("/files/x/meta"), "meta");
  EXPECT_EQ(t.resolve("/files/x/y/meta"), "404");
  EXPECT_EQ(t.resolve("/files//meta"), "404");
  EXPECT_EQ(t.resolve("/users/7"), "user-tree");
  EXPECT_EQ(t.resolve("/users/7/a/b"), "user-tree");
  EXPECT_EQ(t.resolve("/users/7x/a"), "user-tree");
  EXPECT_EQ(t.resolve("/users"), "404");
  EXPECT_THAT(t.match("/users/7/a").params, ElementsAre(Pair("id", "7")));
}

// The documented precedence, one rule per case.
TEST(Router, PrecedenceTable) {
  const Table t({
      make("/**", {"GET"}, "catch-all"),
      make("/api/**", {"GET"}, "api-prefix"),
      make("/api/users/**", {"GET"}, "users-prefix"),
      make("/api/users/{id}", {"GET"}, "user-template"),
      make("/api/users/me", {"GET"}, "me-exact"),
      make("/api/{section}/me", {"GET"}, "section-me"),
      make("/api/*/stats", {"GET"}, "star-stats"),
      make("/api/{kind}/stats", {"GET"}, "param-stats"),
  });
  // 1. exact beats everything.
  EXPECT_EQ(t.resolve("/api/users/me"), "me-exact");
  // 2. longest literal prefix: /api/users/** (2 literal segments) beats /api/{section}/me (1).
  EXPECT_EQ(t.resolve("/api/users/42/me"), "users-prefix");
  // 3. same literal prefix: a {param} template beats a wildcard.
  EXPECT_EQ(t.resolve("/api/users/42"), "user-template");
  EXPECT_EQ(t.resolve("/api/orders/stats"), "param-stats");  // though star-stats comes first
  EXPECT_EQ(t.resolve("/api/orders/me"), "section-me");      // beats /api/**
  // Falling back to shorter literal prefixes.
  EXPECT_EQ(t.resolve("/api/users"), "users-prefix");
  EXPECT_EQ(t.resolve("/api/orders"), "api-prefix");
  EXPECT_EQ(t.resolve("/api"), "api-prefix");
  EXPECT_EQ(t.resolve("/apis"), "catch-all");
  EXPECT_EQ(t.resolve("/"), "catch-all");
}

TEST(Router, LongestLiteralPrefixBeatsAParameterEarlier) {
  const Table t({make("/a/{x}/c", {"GET"}, "template"), make("/a/b/**", {"GET"}, "prefix")});
  EXPECT_EQ(t.resolve("/a/b/c"), "prefix");
  EXPECT_EQ(t.resolve("/a/z/c"), "template");
}

TEST(Router, PriorityThenFileOrderBreakTies) {
  // Same rank: one literal segment, parameters only.
  auto first = make("/a/{x}/c", {"GET"}, "first");
  auto second = make("/a/{y}/{z}", {"GET"}, "second");
  EXPECT_EQ(Table({first, second}).resolve("/a/1/c"), "first");
  EXPECT_EQ(Table({second, first}).resolve("/a/1/c"), "second");
  second.priority = 10;
  EXPECT_EQ(Table({first, second}).resolve("/a/1/c"), "second");
  first.priority = 20;
  EXPECT_EQ(Table({first, second}).resolve("/a/1/c"), "first");
  // Priority never lifts a route above a better rank.
  auto prefix = make("/a/**", {"GET"}, "prefix");
  prefix.priority = 1000;
  EXPECT_EQ(Table({prefix, make("/a/b", {"GET"}, "exact")}).resolve("/a/b"), "exact");
}

TEST(Router, Hosts) {
  auto exact_host = make("/x", {"GET"}, "api-host");
  exact_host.host = "api.example.com";
  auto wildcard_host = make("/x", {"GET"}, "wildcard-host");
  wildcard_host.host = "*.example.com";
  auto deeper_wildcard = make("/x", {"GET"}, "deeper-wildcard");
  deeper_wildcard.host = "*.eu.example.com";
  const Table t({make("/x", {"GET"}, "any-host"), wildcard_host, deeper_wildcard, exact_host});
  EXPECT_EQ(t.resolve("/x", "GET", "api.example.com"), "api-host");
  EXPECT_EQ(t.resolve("/x", "GET", "API.Example.COM"), "api-host");
  EXPECT_EQ(t.resolve("/x", "GET", "www.example.com"), "wildcard-host");
  EXPECT_EQ(t.resolve("/x", "GET", "a.b.example.com"), "wildcard-host");
  EXPECT_EQ(t.resolve("/x", "GET", "fr.eu.example.com"), "deeper-wildcard");
  EXPECT_EQ(t.resolve("/x", "GET", "example.com"), "any-host");
  EXPECT_EQ(t.resolve("/x", "GET", "evilexample.com"), "any-host");
  EXPECT_EQ(t.resolve("/x", "GET", ""), "any-host");

  const Table only_host({exact_host});
  EXPECT_EQ(only_host.resolve("/x", "GET", "other.org"), "404");
  EXPECT_EQ(only_host.resolve("/x", "POST", "other.org"), "404");  // no 405 for another host
}

TEST(Router, HostSpecificWinsOnlyWithinTheSameRank) {
  auto host_prefix = make("/**", {"GET"}, "host-catch-all");
  host_prefix.host = "api.example.com";
  auto host_template = make("/users/{id}", {"GET"}, "host-template");
  host_template.host = "api.example.com";
  const Table t({make("/users", {"GET"}, "users"), host_prefix, make("/users/{id}", {"GET"}, "t"),
                 host_template});
  EXPECT_EQ(t.resolve("/users", "GET", "api.example.com"), "users");
  EXPECT_EQ(t.resolve("/users/1", "GET", "api.example.com"), "host-template");
  EXPECT_EQ(t.resolve("/users/1", "GET", "other"), "t");
  EXPECT_EQ(t.resolve("/other", "GET", "api.example.com"), "host-catch-all");
}

TEST(Router, MethodNotAllowedListsAllow) {
  const Table t({make("/items", {"GET"}, "list"), make("/items", {"POST", "PUT"}, "create"),
                 make("/items/{id}", {"DELETE"}, "delete")});
  EXPECT_EQ(t.resolve("/items", "GET"), "list");
  EXPECT_EQ(t.resolve("/items", "HEAD"), "list");  // HEAD follows GET
  EXPECT_EQ(t.resolve("/items", "POST"), "create");
  EXPECT_EQ(t.resolve("/items", "PATCH"), "405 GET, HEAD, POST, PUT");
  EXPECT_EQ(t.resolve("/items", "OPTIONS"), "405 GET, HEAD, POST, PUT");  // not special
  EXPECT_EQ(t.resolve("/items", "PROPFIND"), "405 GET, HEAD, POST, PUT");
  EXPECT_EQ(t.resolve("/items/3", "GET"), "405 DELETE");
  EXPECT_EQ(t.resolve("/items/3/x", "GET"), "404");
}

TEST(Router, MethodMismatchFallsThroughToALowerRank) {
  const Table t({make("/a", {"POST"}, "exact-post"), make("/a/**", {"GET"}, "prefix-get"),
                 make("/a/{x}", {"PUT"}, "template-put")});
  EXPECT_EQ(t.resolve("/a", "GET"), "prefix-get");
  EXPECT_EQ(t.resolve("/a", "POST"), "exact-post");
  EXPECT_EQ(t.resolve("/a", "DELETE"), "405 GET, HEAD, POST");
  EXPECT_EQ(t.resolve("/a/1", "GET"), "prefix-get");
  EXPECT_EQ(t.resolve("/a/1", "PUT"), "template-put");
  EXPECT_EQ(t.resolve("/a/1", "PATCH"), "405 GET, HEAD, PUT");
}

TEST(Router, HeadOnlyRouteDoesNotAllowGet) {
  const Table t({make("/h", {"HEAD"}, "head")});
  EXPECT_EQ(t.resolve("/h", "HEAD"), "head");
  EXPECT_EQ(t.resolve("/h", "GET"), "405 HEAD");
}

TEST(Router, DefaultMethodIsGetAndMethodsAreCaseInsensitiveInConfig) {
  const Table t({make("/d", {}, "default"), make("/l", {"post"}, "lower")});
  EXPECT_EQ(t.resolve("/d", "GET"), "default");
  EXPECT_EQ(t.resolve("/d", "HEAD"), "default");
  EXPECT_EQ(t.resolve("/d", "POST"), "405 GET, HEAD");
  EXPECT_EQ(t.resolve("/l", "POST"), "lower");
}

TEST(Router, DisabledRoutesAreSkipped) {
  auto off = make("/x", {"GET"}, "off");
  off.enabled = false;
  EXPECT_EQ(Table({off}).resolve("/x"), "404");
  EXPECT_EQ(Table({off, make("/x/**", {"GET"}, "on")}).resolve("/x"), "on");
}

TEST(Router, LiteralsAreComparedInNormalisedForm) {
  const Table t({make("/caf%c3%a9", {"GET"}, "cafe"), make("/%7euser/**", {"GET"}, "tilde")});
  EXPECT_EQ(t.resolve("/caf%C3%A9"), "cafe");
  EXPECT_EQ(t.resolve("/~user/x"), "tilde");
}

TEST(Router, EmptySegmentsAreNotMerged) {
  const Table t({make("/a/b", {"GET"}, "ab"), make("/p/**", {"GET"}, "p")});
  EXPECT_EQ(t.resolve("/a//b"), "404");
  EXPECT_EQ(t.resolve("/p//x"), "p");
}

TEST(Router, InvalidPatternsAreRejectedAtConstruction) {
  for (const char* bad : {"", "nope", "/a/**/b", "/a/{id", "/a/x{id}", "/a/{1x}", "/a/../b",
                          "/a//b", "/a/%2F", "/{x}/{x}"}) {
    std::vector<RouteConfig> routes{make(bad)};
    EXPECT_THROW(Router{routes}, std::invalid_argument) << bad;
  }
  std::vector<RouteConfig> routes{make("/a", {"FETCH"})};
  EXPECT_THROW(Router{routes}, std::invalid_argument);
}

TEST(Router, ThousandRoutesEachResolveToThemselves) {
  std::vector<RouteConfig> routes;
  for (int i = 0; i < 250; ++i) {
    const std::string n = std::to_string(i);
    routes.push_back(make("/svc" + n + "/items", {"GET"}, "exact" + n));
    routes.push_back(make("/svc" + n + "/items/{id}", {"GET"}, "param" + n));
    routes.push_back(make("/svc" + n + "/static/**", {"GET"}, "prefix" + n));
    routes.push_back(make("/api/v" + n + "/*/status", {"GET"}, "star" + n));
  }
  const Table t(routes);
  for (int i = 0; i < 250; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_EQ(t.resolve("/svc" + n + "/items"), "exact" + n);
    ASSERT_EQ(t.resolve("/svc" + n + "/items/77"), "param" + n);
    ASSERT_EQ(t.resolve("/svc" + n + "/static/a/b.css"), "prefix" + n);
    ASSERT_EQ(t.resolve("/api/v" + n + "/x/status"), "star" + n);
    ASSERT_EQ(t.resolve("/svc" + n + "/other"), "404");
  }
}

}  // namespace
}  // namespace gatewayd
