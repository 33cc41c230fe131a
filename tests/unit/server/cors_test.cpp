#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 false positive on coroutines

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "config/cors_policy.hpp"
#include "server/cors_filter.hpp"

namespace gatewayd {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

CorsPolicy make(CorsOptions o) {
  auto result = CorsPolicy::create(std::move(o));
  if (auto* errors = std::get_if<std::vector<admin::FieldError>>(&result)) {
    ADD_FAILURE() << errors->front().field << ": " << errors->front().message;
    return CorsPolicy();
  }
  return std::get<CorsPolicy>(std::move(result));
}

CorsPolicy with_origins(std::vector<std::string> origins, bool credentials = false) {
  CorsOptions o;
  o.allowed_origins = std::move(origins);
  o.allow_credentials = credentials;
  return make(std::move(o));
}

std::string header(const HeaderList& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return "<absent>";
}

std::size_t count(const HeaderList& h, std::string_view name) {
  std::size_t n = 0;
  for (const auto& [k, v] : h) n += k == name ? 1 : 0;
  return n;
}

http::request_header<> preflight(std::string_view origin, std::string_view method,
                                 std::string_view headers = {}) {
  http::request_header<> h;
  h.method(http::verb::options);
  h.target("/api/items");
  h.set(http::field::origin, origin);
  h.set("Access-Control-Request-Method", method);
  if (!headers.empty()) h.set("Access-Control-Request-Headers", headers);
  return h;
}

std::vector<admin::FieldError> errors_of(
    const std::variant<CorsPolicy, std::vector<admin::FieldError>>& result) {
  if (const auto* e = std::get_if<std::vector<admin::FieldError>>(&result)) return *e;
  return {};
}

// ---------------------------------------------------------------------------- origins

TEST(CorsOrigin, ExactOriginMatchesOnlyItselfWithSchemeAndPort) {
  const auto p = with_origins({"https://app.example.com", "http://localhost:3000"});
  EXPECT_EQ(p.allow_origin("https://app.example.com"), "https://app.example.com");
  EXPECT_EQ(p.allow_origin("http://localhost:3000"), "http://localhost:3000");
  EXPECT_FALSE(p.allow_origin("http://app.example.com"));        // scheme
  EXPECT_FALSE(p.allow_origin("https://app.example.com:8443"));  // port
  EXPECT_FALSE(p.allow_origin("http://localhost:3001"));
  EXPECT_FALSE(p.allow_origin("http://localhost"));
  EXPECT_FALSE(p.allow_origin("https://other.example.com"));
  EXPECT_FALSE(p.allow_origin("https://app.example.com.evil.test"));
  EXPECT_FALSE(p.allow_origin(""));
}

TEST(CorsOrigin, DefaultPortsAndCaseAreNormalisedButTheRequestValueIsReflected) {
  const auto p = with_origins({"HTTPS://App.Example.com:443"});
  EXPECT_EQ(p.options().allowed_origins, std::vector<std::string>{"https://app.example.com"});
  EXPECT_EQ(p.allow_origin("https://app.example.com"), "https://app.example.com");
  // Browsers compare Access-Control-Allow-Origin byte for byte with what they sent.
  EXPECT_EQ(p.allow_origin("https://APP.example.com"), "https://APP.example.com");
}

TEST(CorsOrigin, WildcardSubdomainNeverMatchesTheBareDomainOrASuffixTrick) {
  const auto p = with_origins({"https://*.example.com"});
  EXPECT_EQ(p.allow_origin("https://api.example.com"), "https://api.example.com");
  EXPECT_EQ(p.allow_origin("https://a.b.example.com"), "https://a.b.example.com");
  EXPECT_FALSE(p.allow_origin("https://example.com"));
  EXPECT_FALSE(p.allow_origin("https://evilexample.com"));
  EXPECT_FALSE(p.allow_origin("https://api.example.com.evil.test"));
  EXPECT_FALSE(p.allow_origin("http://api.example.com"));        // scheme
  EXPECT_FALSE(p.allow_origin("https://api.example.com:8443"));  // port
  EXPECT_FALSE(p.allow_origin("https://*.example.com"));         // not an origin

  const auto with_port = with_origins({"https://*.example.com:8443"});
  EXPECT_TRUE(with_port.allow_origin("https://api.example.com:8443"));
  EXPECT_FALSE(with_port.allow_origin("https://api.example.com"));
}

TEST(CorsOrigin, MalformedRequestOriginsAreNeverAllowed) {
  const auto p = with_origins({"https://*.example.com"}, true);
  for (const char* bad : {"https://api.example.com/", "api.example.com", "https://",
                          "https://api.example.com/path", "https://user@api.example.com", "*"}) {
    EXPECT_FALSE(p.allow_origin(bad)) << bad;
  }
}

TEST(CorsOrigin, StarWithoutCredentialsAnswersStar) {
  const auto p = with_origins({"*"});
  EXPECT_EQ(p.allow_origin("https://anything.test"), "*");
  EXPECT_EQ(p.allow_origin("null"), "*");
}

TEST(CorsOrigin, StarWithCredentialsReflectsTheOriginAndNeverNull) {
  const auto p = with_origins({"*"}, true);
  EXPECT_EQ(p.allow_origin("https://anything.test"), "https://anything.test");
  EXPECT_FALSE(p.allow_origin("null"));
  HeaderList h;
  append_cors_headers(p, "https://anything.test", h);
  EXPECT_EQ(header(h, "Access-Control-Allow-Origin"), "https://anything.test");
  EXPECT_EQ(header(h, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(header(h, "Vary"), "Origin");
  for (const auto& [k, v] : h) EXPECT_NE(v, "*") << k;

  const auto explicit_null = with_origins({"null"}, true);
  EXPECT_EQ(explicit_null.allow_origin("null"), "null");
}

TEST(CorsOrigin, ConfiguredEntriesAreValidated) {
  for (const char* bad :
       {"https://example.com/", "example.com", "https://exa mple.com", "https://*", "https://*.",
        "https://api.*.example.com", "https://*example.com", "https://example.com:0",
        "https://example.com:99999", "ftp//x", "https://a..b"}) {
    std::string why;
    EXPECT_FALSE(OriginPattern::parse(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  std::string why;
  const auto v6 = OriginPattern::parse("http://[::1]:8080", why);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->text(), "http://[::1]:8080");
}

// ---------------------------------------------------------------------------- preflight

TEST(CorsPreflight, AllowedPreflightIs204WithEveryHeader) {
  CorsOptions o;
  o.allowed_origins = {"https://app.example.com"};
  o.allowed_methods = {"GET", "POST", "DELETE"};
  o.allowed_headers = {"Authorization", "Content-Type"};
  o.allow_credentials = true;
  o.max_age = std::chrono::seconds(1200);
  const auto p = make(o);
  const auto r = answer_preflight(
      p, preflight("https://app.example.com", "DELETE", "authorization, content-type"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Methods"), "GET, POST, DELETE");
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Headers"), "Authorization, Content-Type");
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(header(r->headers, "Access-Control-Max-Age"), "1200");
  EXPECT_EQ(header(r->headers, "Vary"),
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  // One field per name: the session sets them with set(), which would keep only the last.
  for (const auto& [k, v] : r->headers) EXPECT_EQ(count(r->headers, k), 1u) << k;
}

TEST(CorsPreflight, WithoutCredentialsThereIsNoCredentialsHeaderAndStarIsAnswered) {
  const auto r = answer_preflight(CorsPolicy(), preflight("https://x.test", "PUT"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Credentials"), "<absent>");
  EXPECT_EQ(header(r->headers, "Access-Control-Max-Age"), "600");
}

TEST(CorsPreflight, DisallowedOriginIs403Forbidden) {
  const auto p = with_origins({"https://app.example.com"});
  const auto r = answer_preflight(p, preflight("https://evil.test", "GET"), "req-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u);
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Origin"), "<absent>");
  const auto body = json::parse(r->body);
  EXPECT_EQ(body["error"]["code"], "FORBIDDEN");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("origin"), std::string::npos);
  EXPECT_EQ(body["error"]["details"]["origin"], "https://evil.test");
  EXPECT_EQ(body["request_id"], "req-1");
}

TEST(CorsPreflight, DisallowedMethodIs403) {
  CorsOptions o;
  o.allowed_methods = {"GET", "POST"};
  const auto r = answer_preflight(make(o), preflight("https://x.test", "DELETE"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u);
  const auto body = json::parse(r->body);
  EXPECT_NE(body["error"]["message"].get<std::string>().find("method"), std::string::npos);
  EXPECT_EQ(body["error"]["details"]["method"], "DELETE");
}

TEST(CorsPreflight, DisallowedHeaderIs403AndHeaderNamesAreCaseInsensitive) {
  CorsOptions o;
  o.allowed_headers = {"Authorization", "X-Request-Id"};
  const auto p = make(o);
  const auto ok =
      answer_preflight(p, preflight("https://x.test", "POST", "AUTHORIZATION,x-request-id"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204u);

  const auto r =
      answer_preflight(p, preflight("https://x.test", "POST", "authorization, x-secret"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u);
  const auto body = json::parse(r->body);
  EXPECT_NE(body["error"]["message"].get<std::string>().find("header"), std::string::npos);
  EXPECT_EQ(body["error"]["details"]["header"], "x-secret");
}

TEST(CorsPreflight, StarMethodsAndHeadersEchoTheRequest) {
  CorsOptions o;
  o.allowed_origins = {"https://app.example.com"};
  o.allowed_methods = {"*"};
  o.allowed_headers = {"*"};
  o.allow_credentials = true;
  const auto r =
      answer_preflight(make(o), preflight("https://app.example.com", "PURGE", "x-a, x-b"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Methods"), "PURGE");
  EXPECT_EQ(header(r->headers, "Access-Control-Allow-Headers"), "x-a, x-b");
}

TEST(CorsPreflight, MaxAgeZeroIsSent) {
  CorsOptions o;
  o.max_age = std::chrono::seconds(0);
  const auto r = answer_preflight(make(o), preflight("https://x.test", "GET"));
  ASSERT_TRUE(r);
  EXPECT_EQ(header(r->headers, "Access-Control-Max-Age"), "0");
}

TEST(CorsPreflight, OnlyPreflightsAreAnswered) {
  const CorsPolicy p;
  auto no_request_method = preflight("https://x.test", "GET");
  no_request_method.erase("Access-Control-Request-Method");
  EXPECT_FALSE(answer_preflight(p, no_request_method));

  auto no_origin = preflight("https://x.test", "GET");
  no_origin.erase(http::field::origin);
  EXPECT_FALSE(answer_preflight(p, no_origin));

  auto not_options = preflight("https://x.test", "GET");
  not_options.method(http::verb::get);
  EXPECT_FALSE(answer_preflight(p, not_options));

  CorsOptions off;
  off.enabled = false;
  EXPECT_FALSE(answer_preflight(make(off), preflight("https://x.test", "GET")));
}

// ---------------------------------------------------------------------------- filter

Verdict run(CorsFilter& filter, RequestContext& ctx) {
  boost::asio::io_context io;
  std::optional<Verdict> out;
  boost::asio::co_spawn(io, filter.on_request(ctx), [&](std::exception_ptr e, Verdict v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  return *out;
}

TEST(CorsFilter, AllowedOriginGetsTheResponseHeaders) {
  CorsOptions o;
  o.allowed_origins = {"https://app.example.com"};
  o.allow_credentials = true;
  o.exposed_headers = {"X-Request-Id", "X-RateLimit-Remaining"};
  auto holder = std::make_shared<CorsPolicyHolder>(make(o));
  CorsFilter filter(holder);

  http::request_header<> head;
  head.set(http::field::origin, "https://app.example.com");
  RequestContext ctx;
  ctx.head = &head;
  EXPECT_TRUE(std::holds_alternative<Continue>(run(filter, ctx)));
  EXPECT_EQ(header(ctx.response_headers, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(header(ctx.response_headers, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(header(ctx.response_headers, "Access-Control-Expose-Headers"),
            "X-Request-Id, X-RateLimit-Remaining");
  EXPECT_EQ(header(ctx.response_headers, "Vary"), "Origin");
}

TEST(CorsFilter, DisallowedOriginPassesWithoutCorsHeaders) {
  CorsFilter filter(std::make_shared<CorsPolicyHolder>(with_origins({"https://app.example.com"})));
  http::request_header<> head;
  head.set(http::field::origin, "https://evil.test");
  RequestContext ctx;
  ctx.head = &head;
  EXPECT_TRUE(std::holds_alternative<Continue>(run(filter, ctx)));
  // Only Vary: the response depends on the origin, so caches must key on it.
  ASSERT_EQ(ctx.response_headers.size(), 1u);
  EXPECT_EQ(header(ctx.response_headers, "Vary"), "Origin");
}

TEST(CorsFilter, NoOriginMeansNoCorsHeaders) {
  CorsFilter filter(std::make_shared<CorsPolicyHolder>());
  http::request_header<> head;
  RequestContext ctx;
  ctx.head = &head;
  EXPECT_TRUE(std::holds_alternative<Continue>(run(filter, ctx)));
  for (const auto& [k, v] : ctx.response_headers)
    EXPECT_FALSE(k.starts_with("Access-Control-")) << k;
  EXPECT_EQ(header(ctx.response_headers, "Vary"), "Origin");
}

TEST(CorsFilter, DisabledPolicyAddsNothing) {
  CorsOptions o;
  o.enabled = false;
  CorsFilter filter(std::make_shared<CorsPolicyHolder>(make(o)));
  http::request_header<> head;
  head.set(http::field::origin, "https://x.test");
  RequestContext ctx;
  ctx.head = &head;
  run(filter, ctx);
  EXPECT_TRUE(ctx.response_headers.empty());
}

TEST(CorsFilter, ARoutesOwnPolicyReplacesTheGlobalOne) {
  CorsFilter filter(std::make_shared<CorsPolicyHolder>(with_origins({"https://global.test"})));
  RouteConfig route;
  route.cors = std::make_shared<const CorsPolicy>(with_origins({"https://*.route.test"}, true));
  http::request_header<> head;
  RequestContext ctx;
  ctx.head = &head;
  ctx.match.status = MatchStatus::kMatched;
  ctx.match.route = &route;

  head.set(http::field::origin, "https://a.route.test");
  run(filter, ctx);
  EXPECT_EQ(header(ctx.response_headers, "Access-Control-Allow-Origin"), "https://a.route.test");
  EXPECT_EQ(header(ctx.response_headers, "Access-Control-Allow-Credentials"), "true");

  // The global policy's origin is not the route's.
  ctx.response_headers.clear();
  head.set(http::field::origin, "https://global.test");
  run(filter, ctx);
  EXPECT_EQ(header(ctx.response_headers, "Access-Control-Allow-Origin"), "<absent>");
  EXPECT_EQ(header(ctx.response_headers, "Vary"), "Origin");

  // A route without a policy of its own gets the global one.
  RouteConfig plain;
  ctx.match.route = &plain;
  ctx.response_headers.clear();
  run(filter, ctx);
  EXPECT_EQ(header(ctx.response_headers, "Access-Control-Allow-Origin"), "https://global.test");
}

TEST(CorsFilter, SeesPolicyReplacedAtRunTime) {
  auto holder = std::make_shared<CorsPolicyHolder>(with_origins({"https://a.test"}));
  CorsFilter filter(holder);
  http::request_header<> head;
  head.set(http::field::origin, "https://b.test");
  RequestContext first;
  first.head = &head;
  run(filter, first);
  EXPECT_EQ(header(first.response_headers, "Access-Control-Allow-Origin"), "<absent>");

  EXPECT_TRUE(holder->update(json{{"allowed_origins", {"https://b.test"}}}).empty());
  RequestContext second;
  second.head = &head;
  run(filter, second);
  EXPECT_EQ(header(second.response_headers, "Access-Control-Allow-Origin"), "https://b.test");
}

TEST(CorsFilter, GatewayValuesReplaceTheUpstreamsOwn) {
  CorsFilter filter(std::make_shared<CorsPolicyHolder>(with_origins({"https://app.test"}, true)));
  http::request_header<> head;
  head.set(http::field::origin, "https://app.test");
  RequestContext ctx;
  ctx.head = &head;
  run(filter, ctx);

  // As the proxy builds it: upstream fields first, then ctx.response_headers inserted.
  http::response_header<> res;
  res.insert("Access-Control-Allow-Origin", "*");
  res.insert("X-Upstream", "1");
  for (const auto& [k, v] : ctx.response_headers) res.insert(k, v);
  filter.on_response(ctx, res);
  EXPECT_EQ(res.count("Access-Control-Allow-Origin"), 1u);
  EXPECT_EQ(res["Access-Control-Allow-Origin"], "https://app.test");
  EXPECT_EQ(res["X-Upstream"], "1");
}

TEST(CorsFilter, HolderIsSafeUnderConcurrentReadsAndUpdates) {
  auto holder = std::make_shared<CorsPolicyHolder>();
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      const auto p = holder->get();
      ASSERT_FALSE(p->options().allowed_origins.empty());
    }
  });
  for (int i = 0; i < 200; ++i) {
    const std::string origin = "https://n" + std::to_string(i) + ".test";
    ASSERT_TRUE(holder->update(json{{"allowed_origins", {origin}}}).empty());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(holder->to_json()["allowed_origins"], json::array({"https://n199.test"}));
}

// ---------------------------------------------------------------------------- JSON

TEST(CorsJson, RoundTripKeepsEveryField) {
  CorsOptions o;
  o.enabled = false;
  o.allowed_origins = {"https://*.example.com", "http://localhost:3000", "null"};
  o.allowed_methods = {"GET", "PATCH"};
  o.allowed_headers = {"X-Custom"};
  o.exposed_headers = {};
  o.allow_credentials = true;
  o.max_age = std::chrono::seconds(42);
  const auto p = make(o);
  const json j = p.to_json();
  EXPECT_EQ(j["enabled"], false);
  EXPECT_EQ(j["allowed_origins"],
            json::array({"https://*.example.com", "http://localhost:3000", "null"}));
  EXPECT_EQ(j["allow_credentials"], true);
  EXPECT_EQ(j["max_age_seconds"], 42);
  EXPECT_EQ(j["exposed_headers"], json::array());

  const auto back = CorsPolicy::from_json(j, CorsPolicy());
  ASSERT_TRUE(errors_of(back).empty());
  EXPECT_EQ(std::get<CorsPolicy>(back).to_json(), j);
}

TEST(CorsJson, AbsentFieldsKeepTheBase) {
  const auto base = with_origins({"https://a.test"}, true);
  const auto r = CorsPolicy::from_json(json{{"max_age_seconds", 60}}, base);
  ASSERT_TRUE(errors_of(r).empty());
  const auto& p = std::get<CorsPolicy>(r);
  EXPECT_EQ(p.options().max_age, std::chrono::seconds(60));
  EXPECT_EQ(p.options().allowed_origins, std::vector<std::string>{"https://a.test"});
  EXPECT_TRUE(p.options().allow_credentials);
}

TEST(CorsJson, ValidationErrorsNameTheFields) {
  const json body = {{"allowed_origins", {"https://ok.test", "https://bad.test/"}},
                     {"allowed_methods", {"GET", "NOT A METHOD"}},
                     {"max_age_seconds", 100000},
                     {"unknown", 1}};
  const auto errors = errors_of(CorsPolicy::from_json(body, CorsPolicy()));
  ASSERT_FALSE(errors.empty());
  const auto has = [&](std::string_view field) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const admin::FieldError& e) { return e.field == field; });
  };
  EXPECT_TRUE(has("unknown"));
  EXPECT_TRUE(has("max_age_seconds"));

  // Type problems stop before entry checks; these come once the types are right.
  const auto entries = errors_of(
      CorsPolicy::from_json(json{{"allowed_origins", {"https://ok.test", "https://bad.test/"}},
                                 {"allowed_methods", {"GET", "NOT A METHOD"}}},
                            CorsPolicy()));
  const auto has_entry = [&](std::string_view field) {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const admin::FieldError& e) { return e.field == field; });
  };
  EXPECT_TRUE(has_entry("allowed_origins[1]"));
  EXPECT_TRUE(has_entry("allowed_methods[1]"));
}

TEST(CorsJson, WrongTypesAreFieldErrors) {
  EXPECT_EQ(errors_of(CorsPolicy::from_json(json::array(), CorsPolicy())).front().field, "body");
  const auto errors = errors_of(CorsPolicy::from_json(
      json{{"enabled", "yes"}, {"allowed_origins", "https://a.test"}, {"max_age_seconds", 1.5}},
      CorsPolicy()));
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].field, "enabled");
  EXPECT_EQ(errors[1].field, "allowed_origins");
  EXPECT_EQ(errors[2].field, "max_age_seconds");
}

TEST(CorsJson, StarExposedHeaderWithCredentialsIsRefused) {
  const auto errors = errors_of(CorsPolicy::from_json(
      json{{"allow_credentials", true}, {"exposed_headers", {"*"}}}, CorsPolicy()));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "exposed_headers[0]");
}

TEST(CorsJson, FailedUpdateChangesNothing) {
  CorsPolicyHolder holder(with_origins({"https://a.test"}));
  const auto before = holder.to_json();
  EXPECT_FALSE(holder.update(json{{"allowed_origins", {"not an origin"}}}).empty());
  EXPECT_EQ(holder.to_json(), before);
}

// ---------------------------------------------------------------------------- settings

TEST(CorsSettings, DefaultsMatchTheSettingsTable) {
  const Settings s;
  EXPECT_EQ(CorsPolicy::from_settings(s).to_json(), CorsPolicy().to_json());
  const auto holder = CorsPolicyHolder::from_settings(s);
  EXPECT_TRUE(holder->get()->enabled());
  EXPECT_EQ(holder->to_json()["allowed_origins"], json::array({"*"}));
}

TEST(CorsSettings, ReadsEveryVariable) {
  Settings s;
  s.raw["CORS_ENABLED"] = "true";
  s.raw["ALLOWED_ORIGINS"] = "https://app.example.com, https://*.example.org";
  s.raw["CORS_ALLOWED_METHODS"] = "GET,POST";
  s.raw["CORS_ALLOWED_HEADERS"] = "Authorization";
  s.raw["CORS_EXPOSED_HEADERS"] = "X-Request-Id";
  s.raw["CORS_ALLOW_CREDENTIALS"] = "true";
  s.raw["CORS_MAX_AGE_SECONDS"] = "120";
  const auto p = CorsPolicy::from_settings(s);
  EXPECT_EQ(p.options().allowed_origins,
            (std::vector<std::string>{"https://app.example.com", "https://*.example.org"}));
  EXPECT_EQ(p.methods_value(), "GET, POST");
  EXPECT_EQ(p.headers_value(), "Authorization");
  EXPECT_EQ(p.exposed_value(), "X-Request-Id");
  EXPECT_TRUE(p.options().allow_credentials);
  EXPECT_EQ(p.options().max_age, std::chrono::seconds(120));
}

void expect_settings_error(const std::string& name, const std::string& value) {
  Settings s;
  s.raw[name] = value;
  try {
    CorsPolicy::from_settings(s);
    ADD_FAILURE() << name << "=" << value << " was accepted";
  } catch (const SettingsError& e) {
    EXPECT_TRUE(std::string_view(e.what()).starts_with(name + ":")) << e.what();
  }
}

TEST(CorsSettings, BadValuesNameTheVariable) {
  expect_settings_error("ALLOWED_ORIGINS", "https://ok.test,https://bad.test/path");
  expect_settings_error("ALLOWED_ORIGINS", "https://*");
  expect_settings_error("CORS_ALLOWED_METHODS", "GET,BAD METHOD");
  expect_settings_error("CORS_ALLOWED_HEADERS", "X-Ok,Bad:Header");
  expect_settings_error("CORS_MAX_AGE_SECONDS", "-1");
  expect_settings_error("CORS_MAX_AGE_SECONDS", "abc");
  expect_settings_error("CORS_ENABLED", "maybe");
  expect_settings_error("CORS_ALLOW_CREDENTIALS", "sometimes");
}

TEST(CorsSettings, StarExposedWithCredentialsNamesTheExposedVariable) {
  Settings s;
  s.raw["CORS_ALLOW_CREDENTIALS"] = "true";
  s.raw["CORS_EXPOSED_HEADERS"] = "*";
  EXPECT_THROW(
      {
        try {
          CorsPolicy::from_settings(s);
        } catch (const SettingsError& e) {
          EXPECT_TRUE(std::string_view(e.what()).starts_with("CORS_EXPOSED_HEADERS:")) << e.what();
          throw;
        }
      },
      SettingsError);
}

}  // namespace
}  // namespace gatewayd
