#include "filters/auth/principal.hpp"

#include <algorithm>

namespace gatewayd::auth {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) noexcept {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::string_view auth_method_name(AuthMethod method) noexcept {
  return method == AuthMethod::kJwt ? "jwt" : "api_key";
}

std::optional<AuthMethod> parse_auth_method(std::string_view name) noexcept {
  if (name == "jwt") return AuthMethod::kJwt;
  if (name == "api_key") return AuthMethod::kApiKey;
  return std::nullopt;
}

bool Principal::has_role(std::string_view role) const noexcept {
  return contains(roles, role);
}
bool Principal::has_scope(std::string_view scope) const noexcept {
  return contains(scopes, scope);
}
bool Principal::has_permission(std::string_view permission) const noexcept {
  return contains(permissions, permission);
}

}  // namespace gatewayd::auth
