#pragma once
// The auth stage of the middleware chain (after the router, before rate limiting). On every
// request it first removes the identity headers the gateway owns (X-User-Id, X-Roles,
// X-Permissions, X-Auth-Method), whatever the route, so a client can never forge them. On
// routes with auth_required it then finds the credential (Bearer JWT, or an API key in
// API_KEY_HEADER / `Authorization: ApiKey`), verifies it, authorizes it against the route's
// requirements, sets ctx.identity and adds the identity headers for the upstream; otherwise it
// answers 401 (with WWW-Authenticate) or 403. Routes with forward_authorization: false do not
// pass the credential headers upstream.
//
// One filter per worker; the state behind it (keys, JWKS cache, verified-token cache, API key
// store, audit limiter) is shared and thread-safe. JWT verification is synchronous; the one
// thing that may wait is a JWKS refetch for a token with an unknown kid, which runs on the JWKS
// cache's own thread while the request's coroutine is suspended, and resumes on this worker's
// executor.
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filters/auth/api_key_store.hpp"
#include "filters/auth/audit_limiter.hpp"
#include "filters/auth/authorization.hpp"
#include "filters/auth/jwt_authenticator.hpp"
#include "gatewayd/filter.hpp"

namespace gatewayd::metrics {
class Counter;
class Registry;
}  // namespace gatewayd::metrics

namespace gatewayd::auth {

// What every worker's filter shares. Built once (AuthRuntime does it).
struct AuthFilterShared {
  std::shared_ptr<const JwtAuthenticator> jwt;  // null: JWT credentials are refused
  std::shared_ptr<const ApiKeyStore> api_keys;  // null: API keys are refused
  bool api_keys_enabled = true;                 // API_KEY_ENABLED
  std::string api_key_header = "X-API-Key";     // API_KEY_HEADER
  std::shared_ptr<AuditLimiter> audit;          // null: no audit records
  std::function<SystemTime()> clock;            // empty: the system clock
  // Outcome counters, gatewayd_auth_requests_total{result}; null members are skipped.
  metrics::Counter* allowed = nullptr;
  metrics::Counter* unauthorized = nullptr;
  metrics::Counter* forbidden = nullptr;

  // Registers the counters above in `registry`.
  void register_metrics(metrics::Registry& registry);
};

// The outcome of verifying one credential: a principal, or the 401 explaining why not.
struct AuthAttempt {
  std::optional<Principal> principal;
  AuthzDecision failure = missing_credentials();  // meaningful when !principal
};

class AuthFilter final : public Filter {
 public:
  AuthFilter(std::shared_ptr<const AuthFilterShared> shared,
             boost::asio::any_io_executor worker_executor);

  std::string_view name() const noexcept override { return "auth"; }
  std::optional<Verdict> decide_now(RequestContext& ctx) override;
  boost::asio::awaitable<Verdict> on_request(RequestContext& ctx) override;

  // Removes every header the gateway owns from `head`.
  static void strip_identity_headers(boost::beast::http::request_header<>& head);

 private:
  // The route's requirements, compiled once per config snapshot; null when the route's auth
  // settings are invalid (config validation normally refuses those). Shared, so a request
  // suspended across a config change keeps what it started with.
  std::shared_ptr<const RouteAuthRequirements> requirements_for(const RequestContext& ctx);
  // Waits for an unknown-kid JWKS refetch without blocking the worker.
  boost::asio::awaitable<AuthAttempt> authenticate_with_refetch(std::string token, SystemTime now);

  Verdict finish(RequestContext& ctx, const RouteAuthRequirements& req, AuthAttempt attempt,
                 std::string_view method);
  void audit_failure(const RequestContext& ctx, std::string_view event,
                     const AuthzDecision& decision, std::string_view method,
                     const std::string& user_id) const;
  void strip_credentials(RequestContext& ctx) const;
  SystemTime now() const;

  std::shared_ptr<const AuthFilterShared> shared_;
  boost::asio::any_io_executor executor_;
  // Per worker, so no lock: requirements per route index of the snapshot they came from.
  std::shared_ptr<const Config> cached_config_;
  std::vector<std::shared_ptr<const RouteAuthRequirements>> cached_;
  std::vector<bool> cached_done_;
};

}  // namespace gatewayd::auth
