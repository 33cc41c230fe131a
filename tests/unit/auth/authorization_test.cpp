#include "filters/auth/authorization.hpp"

#include <set>

#include <gtest/gtest.h>

namespace gatewayd::auth {
namespace {

Principal jwt_user() {
  Principal p;
  p.subject = "user-42";
  p.roles = {"editor", "reader"};
  p.permissions = {"projects:read", "projects:write"};
  p.scopes = {"read", "write"};
  p.auth_method = AuthMethod::kJwt;
  return p;
}

TEST(Authorize, PublicRoutesAllowAnyone) {
  RouteAuthRequirements req;
  req.auth_required = false;
  req.roles_any = {"admin"};
  EXPECT_TRUE(authorize(nullptr, req).allowed());
  Principal p = jwt_user();
  EXPECT_TRUE(authorize(&p, req).allowed());
}

TEST(Authorize, MissingCredentialsIs401WithChallenge) {
  auto d = authorize(nullptr, RouteAuthRequirements{});
  EXPECT_EQ(d.outcome, AuthzOutcome::kUnauthorized);
  EXPECT_EQ(d.status, 401u);
  EXPECT_EQ(d.code, "UNAUTHORIZED");
  EXPECT_EQ(d.reason, "MISSING_CREDENTIALS");
  EXPECT_EQ(d.www_authenticate, R"(Bearer error="invalid_token")");
}

TEST(Authorize, CredentialFailuresSayWhatWentWrong) {
  std::set<std::string_view> reasons;
  for (int i = 0; i <= static_cast<int>(JwtError::kTooLarge); ++i) {
    auto d = credential_failure(static_cast<JwtError>(i));
    EXPECT_EQ(d.status, 401u);
    EXPECT_EQ(d.code, "UNAUTHORIZED");
    EXPECT_EQ(d.www_authenticate, kInvalidTokenChallenge);
    EXPECT_FALSE(d.message.empty());
    reasons.insert(d.reason);
  }
  for (auto e : {ApiKeyError::kMalformed, ApiKeyError::kUnknown, ApiKeyError::kExpired,
                 ApiKeyError::kDisabled}) {
    auto d = credential_failure(e);
    EXPECT_EQ(d.status, 401u);
    reasons.insert(d.reason);
  }
  EXPECT_EQ(reasons.size(), 14u);  // every failure kind is distinguishable
  EXPECT_EQ(credential_failure(JwtError::kExpired).reason, "TOKEN_EXPIRED");
  EXPECT_EQ(credential_failure(ApiKeyError::kDisabled).reason, "API_KEY_DISABLED");
}

TEST(Authorize, AcceptedMethods) {
  RouteConfig route;
  route.auth_methods = {"api_key"};
  auto req = RouteAuthRequirements::from_route(route);
  Principal jwt = jwt_user();
  Principal key = jwt_user();
  key.auth_method = AuthMethod::kApiKey;
  auto d = authorize(&jwt, req);
  EXPECT_EQ(d.status, 401u);
  EXPECT_EQ(d.reason, "AUTH_METHOD_NOT_ACCEPTED");
  EXPECT_TRUE(authorize(&key, req).allowed());
  route.auth_methods = {"jwt", "api_key"};
  req = RouteAuthRequirements::from_route(route);
  EXPECT_TRUE(authorize(&jwt, req).allowed());
  route.auth_methods = {"oauth"};
  EXPECT_THROW(RouteAuthRequirements::from_route(route), std::invalid_argument);
}

TEST(Authorize, RolesAnyOf) {
  RouteAuthRequirements req;
  req.roles_any = {"admin", "editor"};
  Principal p = jwt_user();
  EXPECT_TRUE(authorize(&p, req).allowed());
  p.roles = {"reader"};
  auto d = authorize(&p, req);
  EXPECT_EQ(d.outcome, AuthzOutcome::kForbidden);
  EXPECT_EQ(d.status, 403u);
  EXPECT_EQ(d.code, "FORBIDDEN");
  EXPECT_EQ(d.reason, "INSUFFICIENT_ROLE");
}

TEST(Authorize, ScopesAndPermissionsAllOf) {
  RouteAuthRequirements req;
  req.scopes_all = {"read", "write"};
  req.permissions_all = {"projects:read", "projects:write"};
  Principal p = jwt_user();
  EXPECT_TRUE(authorize(&p, req).allowed());
  Principal fewer_scopes = p;
  fewer_scopes.scopes = {"read"};
  auto d = authorize(&fewer_scopes, req);
  EXPECT_EQ(d.status, 403u);
  EXPECT_EQ(d.reason, "INSUFFICIENT_SCOPE");
  EXPECT_EQ(d.www_authenticate, kInsufficientScopeChallenge);
  Principal fewer_perms = p;
  fewer_perms.permissions = {"projects:read"};
  EXPECT_EQ(authorize(&fewer_perms, req).reason, "INSUFFICIENT_PERMISSION");
}

TEST(Authorize, FromRouteCopiesRequirements) {
  RouteConfig route;
  route.auth_required = false;
  route.required_roles = {"a"};
  route.required_scopes = {"s"};
  route.required_permissions = {"p"};
  auto req = RouteAuthRequirements::from_route(route);
  EXPECT_FALSE(req.auth_required);
  EXPECT_TRUE(req.accept_jwt);
  EXPECT_TRUE(req.accept_api_key);
  EXPECT_EQ(req.roles_any, std::vector<std::string>{"a"});
  EXPECT_EQ(req.scopes_all, std::vector<std::string>{"s"});
  EXPECT_EQ(req.permissions_all, std::vector<std::string>{"p"});
}

TEST(IdentityHeaders, Values) {
  Principal p = jwt_user();
  auto headers = identity_headers(p);
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[0], (std::pair<std::string_view, std::string>{"X-User-Id", "user-42"}));
  EXPECT_EQ(headers[1], (std::pair<std::string_view, std::string>{"X-Roles", "editor,reader"}));
  EXPECT_EQ(headers[2], (std::pair<std::string_view, std::string>{"X-Permissions",
                                                                  "projects:read,projects:write"}));
  EXPECT_EQ(headers[3], (std::pair<std::string_view, std::string>{"X-Auth-Method", "jwt"}));
  p.auth_method = AuthMethod::kApiKey;
  EXPECT_EQ(identity_headers(p)[3].second, "api_key");
  for (const auto& [name, value] : headers) {
    EXPECT_NE(std::find(kIdentityHeaders.begin(), kIdentityHeaders.end(), name),
              kIdentityHeaders.end());
  }
}

TEST(IdentityHeaders, ClaimsCannotInjectHeadersOrListEntries) {
  Principal p;
  p.subject = "eve\r\nX-Roles: admin";
  p.roles = {"reader,admin", "100%", "caf\xc3\xa9", ""};
  auto headers = identity_headers(p);
  EXPECT_EQ(headers[0].second, "eve%0D%0AX-Roles:%20admin");
  EXPECT_EQ(headers[1].second, "reader%2Cadmin,100%25,caf%C3%A9");
  for (const auto& [name, value] : headers) {
    for (char c : value) {
      EXPECT_TRUE(c > 0x20 && c < 0x7F) << name;
    }
  }
}

}  // namespace
}  // namespace gatewayd::auth
