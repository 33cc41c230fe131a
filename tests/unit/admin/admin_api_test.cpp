// The admin API over real HTTP against a real mariadbd: every endpoint, its answers to bad
// input, unknown ids and clashes, the audit trail, and what the start-up loaders read back.
#include "admin/admin_api.hpp"

#include <gtest/gtest.h>

#include "admin/admin_loaders.hpp"
#include "admin_test_support.hpp"
#include "filters/auth/api_key_store.hpp"
#include "filters/auth/crypto_util.hpp"
#include "persistence/mysql_writer.hpp"
#include "support/free_port.hpp"
#include "unit/persistence/mysql_fixture.hpp"

namespace gatewayd::test {
namespace {

using nlohmann::json;

class AdminApiTest : public MySqlTest {
 protected:
  void SetUp() override {
    MySqlTest::SetUp();
    if (HasFatalFailure()) return;
    admin_ = std::make_unique<AdminHarness>(app_, options_);
  }
  void TearDown() override {
    admin_.reset();
    MySqlTest::TearDown();
  }

  HttpResponse call(const std::string& method, const std::string& target,
                    const json& body = nullptr) {
    return admin_->call(method, target, body.is_null() ? "" : body.dump());
  }
  // Creates an API route and returns its id.
  std::uint64_t create_route(const json& body) {
    const auto res = call("POST", "/admin/routes", body);
    EXPECT_EQ(res.status, 201u) << res.body;
    return json_of(res).value("id", std::uint64_t{0});
  }

  FakeApp app_;
  std::unique_ptr<AdminHarness> admin_;
};

// The field named in a 400 answer's details.
std::string field_message(const HttpResponse& res, const std::string& field) {
  json j = json_of(res);
  if (!j.is_object()) return "";
  const json& fields = j["error"]["details"]["fields"];
  if (!fields.is_object() || !fields.contains(field) || !fields[field].is_string()) return "";
  return fields[field].get<std::string>();
}

void expect_error(const HttpResponse& res, unsigned status, const std::string& code) {
  EXPECT_EQ(res.status, status) << res.body;
  json j = json_of(res);
  ASSERT_TRUE(j.is_object()) << res.body;
  EXPECT_EQ(j["error"]["code"], code) << res.body;
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_TRUE(j["error"]["details"].is_object());
}

// ------------------------------------------------------------------------------ auth

TEST_F(AdminApiTest, RefusesCallsWithoutTheRightToken) {
  for (const std::string token : {"", "wrong-token", "admin-test-token-longer"}) {
    expect_error(admin_->call("GET", "/admin/routes", "", token), 401, "UNAUTHORIZED");
    expect_error(admin_->call("POST", "/admin/routes", R"({"path":"/x","service":"users"})", token),
                 401, "UNAUTHORIZED");
    expect_error(admin_->call("GET", "/admin/api-keys", "", token), 401, "UNAUTHORIZED");
  }
  EXPECT_EQ(count("routes"), 0);
  EXPECT_TRUE(app_.sink.audits().empty());
}

TEST_F(AdminApiTest, UnknownPathsAndMethods) {
  expect_error(call("GET", "/admin/nothing-here"), 404, "NOT_FOUND");
  expect_error(call("PATCH", "/admin/routes"), 405, "METHOD_NOT_ALLOWED");
}

// ------------------------------------------------------------------------------ routes

TEST_F(AdminApiTest, ListsFileRoutesAsReadOnly) {
  const auto res = call("GET", "/admin/routes");
  ASSERT_EQ(res.status, 200u) << res.body;
  json j = json_of(res);
  ASSERT_EQ(j["count"], 2);
  EXPECT_EQ(j["routes"][0]["name"], "file-users");
  EXPECT_EQ(j["routes"][0]["source"], "file");
  EXPECT_TRUE(j["routes"][0]["id"].is_null());
  EXPECT_EQ(j["routes"][1]["name"], "GET /health-file");
  // Credential-like header values never leave the gateway.
  EXPECT_EQ(j["routes"][0]["headers"]["Authorization"], "REDACTED");
  EXPECT_EQ(j["routes"][0]["headers"]["X-Team"], "platform");
  EXPECT_EQ(res.body.find("file-secret-value"), std::string::npos);

  const auto one = call("GET", "/admin/routes/file-users");
  ASSERT_EQ(one.status, 200u) << one.body;
  EXPECT_EQ(json_of(one)["path"], "/users");
}

TEST_F(AdminApiTest, CreatesReadsUpdatesAndDeletesApiRoutes) {
  const auto created = call("POST", "/admin/routes",
                            {{"name", "api-orders"},
                             {"path", "/orders/{id}"},
                             {"service", "orders"},
                             {"methods", {"get", "PUT"}},
                             {"timeout", 5},
                             {"rate_limit", 50},
                             {"host", "API.example.com"},
                             {"retry", {{"count", 2}}},
                             {"auth", {{"roles", {"ops"}}}}});
  ASSERT_EQ(created.status, 201u) << created.body;
  json route = json_of(created);
  const std::uint64_t id = route["id"];
  EXPECT_GT(id, 0u);
  EXPECT_EQ(route["source"], "api");
  EXPECT_EQ(route["methods"], json({"GET", "PUT"}));
  EXPECT_EQ(route["host"], "api.example.com");
  EXPECT_EQ(route["is_active"], true);

  // Stored with the reference columns, the richer fields in `extra`.
  const auto row = rows(
      "SELECT name, path, service_name, methods, timeout, rate_limit, extra "
      "FROM routes WHERE id = " +
      std::to_string(id));
  ASSERT_EQ(row.rows.size(), 1u);
  EXPECT_EQ(*row.rows[0][0], "api-orders");
  EXPECT_EQ(*row.rows[0][3], "GET,PUT");
  EXPECT_EQ(*row.rows[0][4], "5");
  EXPECT_EQ(*row.rows[0][5], "50");
  json extra = json::parse(*row.rows[0][6]);
  EXPECT_EQ(extra["host"], "API.example.com");
  EXPECT_EQ(extra["retry"]["count"], 2);

  // Published: the live config serves it.
  auto live = app_.route_named("api-orders");
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->timeout, std::chrono::seconds(5));
  EXPECT_EQ(live->retry.retry_count, 2u);
  EXPECT_EQ(live->required_roles, std::vector<std::string>{"ops"});

  for (const std::string& key : {std::to_string(id), std::string("api-orders")}) {
    const auto got = call("GET", "/admin/routes/" + key);
    ASSERT_EQ(got.status, 200u) << got.body;
    EXPECT_EQ(json_of(got)["path"], "/orders/{id}");
  }
  const auto list = json_of(call("GET", "/admin/routes"));
  EXPECT_EQ(list["count"], 3);
  EXPECT_EQ(list["routes"][2]["source"], "api");

  // A partial update keeps the other fields; a sub-second timeout survives the INT column.
  const auto updated = call("PUT", "/admin/routes/" + std::to_string(id), {{"timeout", 0.5}});
  ASSERT_EQ(updated.status, 200u) << updated.body;
  EXPECT_EQ(json_of(updated)["timeout"], 0.5);
  EXPECT_EQ(json_of(updated)["host"], "api.example.com");
  live = app_.route_named("api-orders");
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->timeout, std::chrono::milliseconds(500));

  // Deactivated: out of the live config, still listed and stored.
  const auto off = call("PUT", "/admin/routes/api-orders", {{"is_active", false}});
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_FALSE(app_.route_named("api-orders").has_value());
  const auto listed = json_of(call("GET", "/admin/routes"));
  ASSERT_EQ(listed["count"], 3);
  EXPECT_EQ(listed["routes"][2]["is_active"], false);
  ASSERT_EQ(call("PUT", "/admin/routes/" + std::to_string(id), {{"is_active", true}}).status, 200u);
  EXPECT_TRUE(app_.route_named("api-orders").has_value());

  const auto deleted = call("DELETE", "/admin/routes/" + std::to_string(id));
  ASSERT_EQ(deleted.status, 200u) << deleted.body;
  EXPECT_FALSE(app_.route_named("api-orders").has_value());
  EXPECT_EQ(count("routes"), 0);
  expect_error(call("GET", "/admin/routes/" + std::to_string(id)), 404, "NOT_FOUND");

  EXPECT_EQ(
      app_.sink.events(),
      (std::vector<std::string>{"admin.route.created", "admin.route.updated", "admin.route.updated",
                                "admin.route.updated", "admin.route.deleted"}));
  const auto first = app_.sink.audits().front();
  EXPECT_EQ(first.user_id, "admin");
  EXPECT_EQ(first.ip_address, "127.0.0.1");
  EXPECT_EQ(json::parse(first.details_json)["name"], "api-orders");
}

TEST_F(AdminApiTest, DerivedRouteNamesFollowTheRoute) {
  const std::uint64_t id = create_route({{"path", "/items"}, {"service", "orders"}});
  EXPECT_TRUE(app_.route_named("GET /items").has_value());
  const auto res = call("PUT", "/admin/routes/" + std::to_string(id), {{"methods", {"POST"}}});
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["name"], "POST /items");
  EXPECT_TRUE(app_.route_named("POST /items").has_value());
  EXPECT_FALSE(app_.route_named("GET /items").has_value());
}

TEST_F(AdminApiTest, RejectsInvalidRoutesWithTheFieldAtFault) {
  struct Case {
    std::string body, field, fragment;
  };
  const std::vector<Case> cases = {
      {"{not json", "body", "JSON"},
      {"[1, 2]", "body", "object"},
      {R"({"service":"users"})", "path", "required"},
      {R"({"path":"/a","service":"nope"})", "service", "unknown service 'nope'"},
      {R"({"path":"/a","service":"users","timeout":-1})", "timeout", "greater than 0"},
      {R"({"path":"/a","service":"users","methods":["FETCH"]})", "methods", "unknown method"},
      {R"({"path":"/a","service":"users","pathh":"/b"})", "pathh", "unknown field"},
      {R"({"path":"no-slash","service":"users"})", "path", "invalid pattern"},
      {R"({"path":"/a","service":"users","retry":{"count":99}})", "retry.count", "out of range"},
      {R"({"path":"/a","service":"users","strip_prefix":true,"rewrite_path":"/b"})", "rewrite_path",
       "cannot be combined"},
      {R"({"path":"/a","service":"users","is_active":"yes"})", "is_active", "true or false"},
  };
  for (const auto& c : cases) {
    const auto res = admin_->call("POST", "/admin/routes", c.body);
    expect_error(res, 400, "BAD_REQUEST");
    EXPECT_NE(field_message(res, c.field).find(c.fragment), std::string::npos)
        << c.body << " -> " << res.body;
  }
  EXPECT_EQ(count("routes"), 0);
  EXPECT_EQ(app_.publishes.load(), 0);
  EXPECT_TRUE(app_.sink.audits().empty());
}

TEST_F(AdminApiTest, RouteClashesAndFileRoutesAreConflicts) {
  // The name of a file route.
  auto res = call("POST", "/admin/routes",
                  {{"name", "file-users"}, {"path", "/other"}, {"service", "users"}});
  expect_error(res, 409, "CONFLICT");
  EXPECT_NE(field_message(res, "name").find("already used"), std::string::npos) << res.body;
  // The path and a method of a file route.
  res = call("POST", "/admin/routes",
             {{"path", "/users"}, {"service", "orders"}, {"methods", {"POST"}}});
  expect_error(res, 409, "CONFLICT");
  EXPECT_NE(field_message(res, "path").find("duplicate route"), std::string::npos) << res.body;
  // Two API routes with one name.
  create_route({{"name", "twin"}, {"path", "/twin-a"}, {"service", "users"}});
  expect_error(
      call("POST", "/admin/routes", {{"name", "twin"}, {"path", "/twin-b"}, {"service", "users"}}),
      409, "CONFLICT");
  // An inactive route still keeps its name and (path, methods) to itself.
  create_route(
      {{"name", "sleeper"}, {"path", "/sleep"}, {"service", "users"}, {"is_active", false}});
  expect_error(call("POST", "/admin/routes",
                    {{"name", "sleeper"}, {"path", "/sleep-2"}, {"service", "users"}}),
               409, "CONFLICT");
  expect_error(
      call("POST", "/admin/routes",
           {{"name", "insomniac"}, {"path", "/sleep"}, {"service", "users"}, {"is_active", false}}),
      409, "CONFLICT");

  // File routes cannot be changed here.
  expect_error(call("PUT", "/admin/routes/file-users", {{"timeout", 3}}), 409, "READ_ONLY");
  expect_error(call("DELETE", "/admin/routes/file-users"), 409, "READ_ONLY");
  // Unknown ids and names.
  expect_error(call("GET", "/admin/routes/999"), 404, "NOT_FOUND");
  expect_error(call("PUT", "/admin/routes/999", {{"timeout", 3}}), 404, "NOT_FOUND");
  expect_error(call("DELETE", "/admin/routes/999"), 404, "NOT_FOUND");
  expect_error(call("DELETE", "/admin/routes/no-such-route"), 404, "NOT_FOUND");
  EXPECT_EQ(count("routes"), 2);
}

TEST_F(AdminApiTest, AChangeTheAppRejectsIsUndone) {
  const std::uint64_t id =
      create_route({{"name", "keep"}, {"path", "/keep"}, {"service", "users"}});
  app_.reject_publish = true;
  auto res =
      call("POST", "/admin/routes", {{"name", "new"}, {"path", "/new"}, {"service", "users"}});
  expect_error(res, 409, "CONFIG_REJECTED");
  EXPECT_EQ(json_of(res)["error"]["details"]["reason"], "routes.yaml changed meanwhile");
  EXPECT_EQ(count("routes"), 1);

  expect_error(call("PUT", "/admin/routes/" + std::to_string(id), {{"timeout", 9}}), 409,
               "CONFIG_REJECTED");
  EXPECT_EQ(scalar("SELECT timeout FROM routes WHERE id = " + std::to_string(id)), "30");

  expect_error(call("DELETE", "/admin/routes/" + std::to_string(id)), 409, "CONFIG_REJECTED");
  EXPECT_EQ(scalar("SELECT name FROM routes WHERE id = " + std::to_string(id)), "keep");
  EXPECT_EQ(app_.sink.events(), std::vector<std::string>{"admin.route.created"});
}

TEST_F(AdminApiTest, LoadersReadWhatTheApiStored) {
  create_route({{"name", "active"}, {"path", "/active"}, {"service", "orders"}, {"timeout", 2.5}});
  create_route(
      {{"name", "inactive"}, {"path", "/inactive"}, {"service", "orders"}, {"is_active", false}});
  ASSERT_EQ(call("POST", "/admin/rate-limit-rules",
                 {{"rule_name", "ip-cap"},
                  {"limit_type", "per_ip"},
                  {"max_requests", 10},
                  {"window_seconds", 60}})
                .status,
            201u);
  ASSERT_EQ(call("POST", "/admin/rate-limit-rules",
                 {{"rule_name", "off"},
                  {"limit_type", "global"},
                  {"max_requests", 10},
                  {"is_active", false}})
                .status,
            201u);
  const auto key = json_of(
      call("POST", "/admin/api-keys",
           {{"user_id", "svc-a"}, {"roles", {"reader"}}, {"permissions", {"orders:read"}}}));

  auto routes = admin::load_api_routes(options_, ConfigDefaults{});
  ASSERT_TRUE(routes.ok()) << routes.error->describe();
  ASSERT_EQ(routes.value.items.size(), 1u);
  EXPECT_TRUE(routes.value.problems.empty());
  EXPECT_EQ(routes.value.items[0].name, "active");
  EXPECT_EQ(routes.value.items[0].timeout, std::chrono::milliseconds(2500));
  // Merged like the app does at start-up.
  auto merged = admin::merge_api_routes(*parse_config("routes: []", "services: {orders: null}"),
                                        routes.value.items, false);
  EXPECT_EQ(merged.config->routes.size(), 1u);

  auto rules = admin::load_rate_limit_rules(options_);
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules.value.items.size(), 1u);
  EXPECT_EQ(rules.value.items[0].rule_name, "ip-cap");

  auto keys = admin::load_api_keys(options_);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys.value.items.size(), 1u);
  auth::ApiKeyStore store;
  store.set_database_records(keys.value.items);
  const auto found =
      store.lookup(key["api_key"].get<std::string>(), std::chrono::system_clock::now());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found.record()->user_id, "svc-a");
  EXPECT_EQ(found.record()->roles, std::vector<std::string>{"reader"});
  EXPECT_EQ(found.record()->permissions, std::vector<std::string>{"orders:read"});
}

TEST_F(AdminApiTest, LenientMergeLeavesOutRoutesWhoseServiceIsGone) {
  create_route({{"name", "to-orders"}, {"path", "/o"}, {"service", "orders"}});
  auto routes = admin::load_api_routes(options_, ConfigDefaults{});
  ASSERT_TRUE(routes.ok());
  const auto files = parse_config("routes: []", "services: {users: null}");
  auto merged = admin::merge_api_routes(*files, routes.value.items, false);
  EXPECT_TRUE(merged.config->routes.empty());
  ASSERT_EQ(merged.dropped.size(), 1u);
  EXPECT_NE(merged.dropped[0].find("unknown service 'orders'"), std::string::npos);
  EXPECT_THROW(admin::merge_api_routes(*files, routes.value.items, true), ConfigError);
}

// ------------------------------------------------------------------------------ rate-limit rules

TEST_F(AdminApiTest, RateLimitRulesCrud) {
  auto res = call("POST", "/admin/rate-limit-rules",
                  {{"rule_name", "api-users"},
                   {"limit_type", "per_user"},
                   {"path_pattern", "/api/**"},
                   {"max_requests", 100},
                   {"window_seconds", 60},
                   {"burst", 120}});
  ASSERT_EQ(res.status, 201u) << res.body;
  json rule = json_of(res);
  const std::uint64_t id = rule["id"];
  EXPECT_EQ(rule["limit_type"], "per_user");
  EXPECT_EQ(rule["burst"], 120);
  EXPECT_EQ(rule["is_active"], true);
  EXPECT_EQ(app_.rules_changed.load(), 1);
  EXPECT_EQ(scalar("SELECT path_pattern FROM rate_limit_rules WHERE id = " + std::to_string(id)),
            "/api/**");

  const auto list = json_of(call("GET", "/admin/rate-limit-rules"));
  ASSERT_EQ(list["count"], 1);
  EXPECT_EQ(list["rules"][0]["rule_name"], "api-users");
  EXPECT_EQ(json_of(call("GET", "/admin/rate-limit-rules/api-users"))["id"], id);

  res = call("PUT", "/admin/rate-limit-rules/" + std::to_string(id),
             {{"max_requests", 5}, {"is_active", false}});
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["max_requests"], 5);
  EXPECT_EQ(json_of(res)["path_pattern"], "/api/**");
  EXPECT_EQ(json_of(res)["is_active"], false);
  EXPECT_EQ(app_.rules_changed.load(), 2);

  expect_error(call("POST", "/admin/rate-limit-rules",
                    {{"rule_name", "api-users"}, {"limit_type", "global"}, {"max_requests", 1}}),
               409, "CONFLICT");
  ASSERT_EQ(call("POST", "/admin/rate-limit-rules",
                 {{"rule_name", "second"}, {"limit_type", "global"}, {"max_requests", 1}})
                .status,
            201u);
  expect_error(call("PUT", "/admin/rate-limit-rules/second", {{"rule_name", "api-users"}}), 409,
               "CONFLICT");

  const std::vector<std::pair<json, std::string>> bad = {
      {{{"rule_name", "x"}, {"limit_type", "per_planet"}, {"max_requests", 1}}, "limit_type"},
      {{{"rule_name", "x"}, {"limit_type", "per_ip"}, {"max_requests", 0}}, "max_requests"},
      {{{"rule_name", "x"}, {"limit_type", "per_ip"}, {"max_requests", -3}}, "max_requests"},
      {{{"rule_name", "bad name!"}, {"limit_type", "per_ip"}, {"max_requests", 1}}, "rule_name"},
      {{{"rule_name", "x"}, {"limit_type", "per_ip"}, {"max_requests", 1}, {"window_seconds", 0}},
       "window_seconds"},
      {{{"rule_name", "x"}, {"limit_type", "per_ip"}, {"max_requests", 1}, {"path_pattern", "api"}},
       "path_pattern"},
      {{{"rule_name", "x"}, {"limit_type", "per_ip"}, {"max_requests", 1}, {"colour", 1}},
       "colour"},
  };
  for (const auto& [body, field] : bad) {
    res = call("POST", "/admin/rate-limit-rules", body);
    expect_error(res, 400, "BAD_REQUEST");
    EXPECT_FALSE(field_message(res, field).empty()) << body.dump() << " -> " << res.body;
  }
  expect_error(call("PUT", "/admin/rate-limit-rules/" + std::to_string(id), {{"burst", 0}}), 400,
               "BAD_REQUEST");

  expect_error(call("GET", "/admin/rate-limit-rules/4242"), 404, "NOT_FOUND");
  expect_error(call("PUT", "/admin/rate-limit-rules/nope", {{"max_requests", 1}}), 404,
               "NOT_FOUND");
  expect_error(call("DELETE", "/admin/rate-limit-rules/4242"), 404, "NOT_FOUND");
  ASSERT_EQ(call("DELETE", "/admin/rate-limit-rules/" + std::to_string(id)).status, 200u);
  EXPECT_EQ(count("rate_limit_rules"), 1);
  EXPECT_EQ(app_.rules_changed.load(), 4);
  EXPECT_EQ(
      app_.sink.events(),
      (std::vector<std::string>{"admin.rate_limit_rule.created", "admin.rate_limit_rule.updated",
                                "admin.rate_limit_rule.created", "admin.rate_limit_rule.deleted"}));
}

// ------------------------------------------------------------------------------ API keys

TEST_F(AdminApiTest, ApiKeysShowTheClearKeyOnceAndStoreOnlyItsHash) {
  auto res = call("POST", "/admin/api-keys",
                  {{"owner", "reporting"},
                   {"tenant", "acme"},
                   {"name", "nightly"},
                   {"permissions", {"reports:read"}},
                   {"rate_limit_per_minute", 30},
                   {"expires_at", "2099-01-01T00:00:00Z"}});
  ASSERT_EQ(res.status, 201u) << res.body;
  json created = json_of(res);
  const std::string key = created["api_key"];
  const std::uint64_t id = created["id"];
  EXPECT_TRUE(key.starts_with("gw_")) << key;
  EXPECT_EQ(created["user_id"], "reporting");
  EXPECT_EQ(created["tenant_id"], "acme");
  EXPECT_EQ(created["rate_limit_per_minute"], 30);
  EXPECT_EQ(created["expires_at"], "2099-01-01T00:00:00.000Z");
  EXPECT_FALSE(created.contains("api_key_hash"));
  EXPECT_EQ(app_.api_keys_changed.load(), 1);

  const std::string hash = auth::to_hex(auth::sha256(key));
  EXPECT_EQ(scalar("SELECT api_key_hash FROM api_keys WHERE id = " + std::to_string(id)), hash);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM api_keys WHERE CONCAT_WS('|', api_key_hash, user_id, "
                   "tenant_id, name, permissions, created_by) LIKE '%" +
                   key + "%'"),
            "0");

  for (const std::string& target :
       {std::string("/admin/api-keys"), "/admin/api-keys/" + std::to_string(id)}) {
    const auto listed = call("GET", target);
    ASSERT_EQ(listed.status, 200u) << listed.body;
    EXPECT_EQ(listed.body.find(key), std::string::npos);
    EXPECT_EQ(listed.body.find(hash), std::string::npos);
    EXPECT_NE(listed.body.find("nightly"), std::string::npos);
  }
  for (const auto& audit : app_.sink.audits()) {
    EXPECT_EQ(audit.details_json.find(key), std::string::npos);
    EXPECT_EQ(audit.details_json.find(hash), std::string::npos);
  }

  res = call("POST", "/admin/api-keys/" + std::to_string(id) + "/disable");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["is_active"], false);
  auth::ApiKeyStore store;
  store.set_database_records(admin::load_api_keys(options_).value.items);
  const auto refused = store.lookup(key, std::chrono::system_clock::now());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), auth::ApiKeyError::kDisabled);
  ASSERT_EQ(call("POST", "/admin/api-keys/" + std::to_string(id) + "/enable").status, 200u);

  ASSERT_EQ(call("DELETE", "/admin/api-keys/" + std::to_string(id)).status, 200u);
  expect_error(call("GET", "/admin/api-keys/" + std::to_string(id)), 404, "NOT_FOUND");
  expect_error(call("DELETE", "/admin/api-keys/" + std::to_string(id)), 404, "NOT_FOUND");
  expect_error(call("POST", "/admin/api-keys/abc/disable"), 404, "NOT_FOUND");
  EXPECT_EQ(app_.api_keys_changed.load(), 4);
  EXPECT_EQ(app_.sink.events(),
            (std::vector<std::string>{"admin.api_key.created", "admin.api_key.disabled",
                                      "admin.api_key.enabled", "admin.api_key.deleted"}));
}

TEST_F(AdminApiTest, RejectsInvalidApiKeyBodies) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json::object(), "user_id"},
      {{{"user_id", ""}}, "user_id"},
      {{{"user_id", "a"}, {"permissions", "all"}}, "permissions"},
      {{{"user_id", "a"}, {"roles", {1, 2}}}, "roles"},
      {{{"user_id", "a"}, {"rate_limit_per_minute", 0}}, "rate_limit_per_minute"},
      {{{"user_id", "a"}, {"expires_at", "2001-01-01T00:00:00Z"}}, "expires_at"},
      {{{"user_id", "a"}, {"expires_at", "next tuesday"}}, "expires_at"},
      {{{"user_id", "a"}, {"secret", "x"}}, "secret"},
  };
  for (const auto& [body, field] : bad) {
    const auto res = call("POST", "/admin/api-keys", body);
    expect_error(res, 400, "BAD_REQUEST");
    EXPECT_FALSE(field_message(res, field).empty()) << body.dump() << " -> " << res.body;
  }
  EXPECT_EQ(count("api_keys"), 0);
  EXPECT_EQ(app_.api_keys_changed.load(), 0);
}

// ------------------------------------------------------------------------------ request log

class AdminQueriesTest : public AdminApiTest {
 protected:
  void SetUp() override {
    AdminApiTest::SetUp();
    if (HasFatalFailure()) return;
    const auto now = std::chrono::system_clock::now();
    std::vector<Record> batch;
    auto add = [&](std::string id, std::string method, std::string path, std::string route,
                   std::string service, std::string user, unsigned status, double ms) {
      RequestRecord r;
      r.request_id = std::move(id);
      r.method = std::move(method);
      r.path = std::move(path);
      r.route = std::move(route);
      r.target_service = std::move(service);
      r.user_id = std::move(user);
      r.client_ip = "10.0.0.1";
      r.status_code = status;
      r.response_time_ms = ms;
      r.created_at = now - std::chrono::minutes(1);
      if (status >= 500) r.error_code = "BAD_GATEWAY";
      batch.push_back(r);
    };
    for (int i = 1; i <= 10; ++i) {
      add("u" + std::to_string(i), "GET", "/users/" + std::to_string(i), "file-users", "users",
          "alice", 200, i);
    }
    add("o1", "POST", "/orders", "orders", "orders", "bob", 502, 40);
    add("o2", "GET", "/orders/1", "orders", "orders", "", 404, 4);
    persistence::MySqlWriter writer(options_, "n1");
    ASSERT_FALSE(writer.connect().has_value());
    ASSERT_FALSE(writer.write(batch).has_value());
  }
};

TEST_F(AdminQueriesTest, Stats) {
  const auto res = call("GET", "/admin/stats?hours=24");
  ASSERT_EQ(res.status, 200u) << res.body;
  json s = json_of(res);
  EXPECT_EQ(s["total_requests"], 12);
  EXPECT_EQ(s["errors"], 2);
  EXPECT_EQ(s["server_errors"], 1);
  EXPECT_NEAR(s["error_rate"].get<double>(), 2.0 / 12.0, 1e-9);
  EXPECT_EQ(s["by_route"][0]["route"], "file-users");
  EXPECT_EQ(s["by_route"][0]["count"], 10);
  EXPECT_EQ(s["by_status"]["200"], 10);
  EXPECT_EQ(s["by_service"].size(), 2u);
  EXPECT_FALSE(s["top_endpoints"].empty());
  expect_error(call("GET", "/admin/stats?hours=0"), 400, "BAD_REQUEST");
  expect_error(call("GET", "/admin/stats?hours=abc"), 400, "BAD_REQUEST");
}

TEST_F(AdminQueriesTest, LogsWithFiltersAndPaging) {
  auto res = call("GET", "/admin/logs?service=orders");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["total"], 2);
  res = call("GET", "/admin/logs?target_service=orders&status=502");
  ASSERT_EQ(json_of(res)["total"], 1);
  EXPECT_EQ(json_of(res)["logs"][0]["request_id"], "o1");
  EXPECT_EQ(json_of(res)["logs"][0]["error_code"], "BAD_GATEWAY");
  res = call("GET", "/admin/logs?user=alice&method=get&path=/users/*&limit=3&offset=2");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["total"], 10);
  EXPECT_EQ(json_of(res)["logs"].size(), 3u);
  EXPECT_EQ(json_of(call("GET", "/admin/logs?route=orders"))["total"], 2);
  EXPECT_EQ(json_of(call("GET", "/admin/logs?from=2000-01-01T00:00:00Z&to=2000-01-02"))["total"],
            0);
  EXPECT_EQ(json_of(call("GET", "/admin/logs?start_date=2000-01-01"))["total"], 12);

  for (const std::string q : {"limit=0", "limit=5000", "offset=-1", "status=99", "from=yesterday",
                              "from=2024-01-02&to=2024-01-01"}) {
    res = call("GET", "/admin/logs?" + q);
    expect_error(res, 400, "BAD_REQUEST");
  }
  res = call("GET", "/admin/logs?limit=0");
  EXPECT_FALSE(field_message(res, "limit").empty()) << res.body;
}

TEST_F(AdminQueriesTest, ErrorsAndPerformance) {
  auto res = call("GET", "/admin/errors?limit=1");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["count"], 1);
  EXPECT_GE(json_of(res)["errors"][0]["status_code"].get<int>(), 400);
  EXPECT_EQ(json_of(call("GET", "/admin/errors"))["count"], 2);

  res = call("GET", "/admin/performance?hours=1");
  ASSERT_EQ(res.status, 200u) << res.body;
  json routes = json_of(res)["routes"];
  ASSERT_EQ(routes.size(), 2u);
  const json& users = routes[0]["route"] == "file-users" ? routes[0] : routes[1];
  EXPECT_EQ(users["samples"], 10);
  EXPECT_EQ(users["p50_ms"], 5.0);
  EXPECT_EQ(users["p90_ms"], 9.0);
  EXPECT_EQ(users["p99_ms"], 10.0);
  expect_error(call("GET", "/admin/performance?hours=100000"), 400, "BAD_REQUEST");
}

// ------------------------------------------------------------------------------ runtime

TEST_F(AdminApiTest, ServicesAndCircuitReset) {
  auto res = call("GET", "/admin/services");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["count"], 2);
  EXPECT_EQ(json_of(call("GET", "/admin/services/users"))["circuit"]["state"], "open");
  expect_error(call("GET", "/admin/services/ghost"), 404, "NOT_FOUND");

  res = call("POST", "/admin/services/users/reset");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(app_.circuit_resets(), std::vector<std::string>{"users"});
  expect_error(call("POST", "/admin/services/ghost/reset"), 404, "NOT_FOUND");
  EXPECT_EQ(app_.sink.events(), std::vector<std::string>{"admin.circuit.reset"});
}

TEST_F(AdminApiTest, CorsGetAndUpdate) {
  EXPECT_EQ(json_of(call("GET", "/admin/cors"))["allowed_origins"], json({"*"}));
  auto res = call("PUT", "/admin/cors", {{"allowed_origins", {"https://app.example.com"}}});
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["allowed_origins"], json({"https://app.example.com"}));
  res = call("PUT", "/admin/cors", {{"allowed_origins", "everyone"}});
  expect_error(res, 400, "BAD_REQUEST");
  EXPECT_FALSE(field_message(res, "allowed_origins").empty());
  expect_error(admin_->call("PUT", "/admin/cors", "nonsense"), 400, "BAD_REQUEST");
  EXPECT_EQ(app_.sink.events(), std::vector<std::string>{"admin.cors.updated"});
}

TEST_F(AdminApiTest, LiveConfigIsRedacted) {
  const auto res = call("GET", "/admin/config");
  ASSERT_EQ(res.status, 200u) << res.body;
  json c = json_of(res);
  EXPECT_EQ(c["routes"].size(), 2u);
  EXPECT_EQ(c["services"].size(), 2u);
  EXPECT_EQ(c["services"][0]["instances"].size(), 1u);
  EXPECT_EQ(c["settings"]["MYSQL_PASSWORD"], "REDACTED");
  EXPECT_EQ(c["mysql_enabled"], true);
  EXPECT_EQ(res.body.find("file-secret-value"), std::string::npos);
}

TEST_F(AdminApiTest, Reload) {
  auto res = call("POST", "/admin/reload");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json_of(res)["status"], "reloaded");
  app_.reject_reload = true;
  res = call("POST", "/admin/reload");
  expect_error(res, 400, "INVALID_CONFIG");
  EXPECT_NE(json_of(res)["error"]["details"]["reason"].get<std::string>().find("path"),
            std::string::npos);
  EXPECT_EQ(app_.reloads.load(), 2);
  EXPECT_EQ(app_.sink.events(), (std::vector<std::string>{"admin.reload", "admin.reload"}));
}

// ------------------------------------------------------------------------------ no MySQL

TEST(AdminApiWithoutMySqlTest, DatabaseEndpointsAnswer503) {
  FakeApp app;
  AdminHarness admin(app, std::nullopt);
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/admin/routes"},
                                                        {"PUT", "/admin/routes/1"},
                                                        {"DELETE", "/admin/routes/some-api-route"},
                                                        {"GET", "/admin/rate-limit-rules"},
                                                        {"POST", "/admin/rate-limit-rules"},
                                                        {"GET", "/admin/api-keys"},
                                                        {"POST", "/admin/api-keys"},
                                                        {"POST", "/admin/api-keys/1/disable"},
                                                        {"GET", "/admin/stats"},
                                                        {"GET", "/admin/logs"},
                                                        {"GET", "/admin/errors"},
                                                        {"GET", "/admin/performance"}}) {
    const auto res = admin.call(method, target, R"({"path":"/x","service":"users"})");
    expect_error(res, 503, "DATABASE_DISABLED");
  }
  // What the running gateway knows still answers.
  EXPECT_EQ(admin.call("GET", "/admin/routes").status, 200u);
  EXPECT_EQ(admin.call("GET", "/admin/routes/file-users").status, 200u);
  expect_error(admin.call("PUT", "/admin/routes/file-users", "{}"), 409, "READ_ONLY");
  expect_error(admin.call("GET", "/admin/routes/42"), 404, "NOT_FOUND");
  EXPECT_EQ(admin.call("GET", "/admin/services").status, 200u);
  EXPECT_EQ(json_of(admin.call("GET", "/admin/config"))["mysql_enabled"], false);
  EXPECT_TRUE(app.sink.audits().empty());
}

TEST(AdminApiWithoutMySqlTest, UnreachableDatabaseAnswers503) {
  FakeApp app;
  MySqlOptions unreachable;
  unreachable.host = "127.0.0.1";
  unreachable.port = free_port();  // nothing listens: connections are refused at once
  unreachable.user = "nobody";
  unreachable.password = "unused-secret";
  AdminHarness admin(app, unreachable);
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/admin/rate-limit-rules"},
                                                        {"GET", "/admin/api-keys"},
                                                        {"POST", "/admin/routes"},
                                                        {"GET", "/admin/stats"}}) {
    const auto res = admin.call(method, target, R"({"path":"/x","service":"users"})");
    expect_error(res, 503, "DATABASE_UNAVAILABLE");
    EXPECT_EQ(res.body.find("unused-secret"), std::string::npos);
  }
  EXPECT_EQ(app.publishes.load(), 0);
  EXPECT_TRUE(app.sink.audits().empty());
}

}  // namespace
}  // namespace gatewayd::test
