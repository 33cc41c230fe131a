#include "filters/auth/auth_filter.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "filters/auth/credentials.hpp"
#include "gatewayd/metrics.hpp"

namespace gatewayd::auth {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

AuthAttempt from_jwt(JwtResult r) {
  AuthAttempt a;
  if (r.ok()) {
    a.principal = std::move(r).principal();
  } else {
    a.failure = credential_failure(r.error());
  }
  return a;
}

Identity to_identity(const Principal& p) {
  Identity id;
  id.subject = p.subject;
  id.auth_method = std::string(auth_method_name(p.auth_method));
  if (p.auth_method == AuthMethod::kApiKey) {
    id.key_id = p.key_id;
    id.key_limit_per_minute = p.rate_limit_per_minute.value_or(0);
    id.key_limit_per_hour = p.rate_limit_per_hour.value_or(0);
  }
  id.tenant = p.tenant_id;
  id.roles = p.roles;
  id.permissions = p.permissions;
  id.scopes = p.scopes;
  return id;
}

void count(metrics::Counter* c) {
  if (c != nullptr) c->inc();
}

}  // namespace

void AuthFilterShared::register_metrics(metrics::Registry& registry) {
  constexpr std::string_view kName = "gatewayd_auth_requests_total";
  constexpr std::string_view kHelp = "Requests on protected routes by auth outcome.";
  allowed = &registry.counter(kName, kHelp, {{"result", "allowed"}});
  unauthorized = &registry.counter(kName, kHelp, {{"result", "unauthorized"}});
  forbidden = &registry.counter(kName, kHelp, {{"result", "forbidden"}});
}

AuthFilter::AuthFilter(std::shared_ptr<const AuthFilterShared> shared,
                       asio::any_io_executor worker_executor)
    : shared_(std::move(shared)), executor_(std::move(worker_executor)) {}

void AuthFilter::strip_identity_headers(http::request_header<>& head) {
  for (std::string_view name : kIdentityHeaders) head.erase(name);
}

SystemTime AuthFilter::now() const {
  return shared_->clock ? shared_->clock() : std::chrono::system_clock::now();
}

std::shared_ptr<const RouteAuthRequirements> AuthFilter::requirements_for(
    const RequestContext& ctx) {
  auto compile = [](const RouteConfig& route) -> std::shared_ptr<const RouteAuthRequirements> {
    try {
      return std::make_shared<const RouteAuthRequirements>(
          RouteAuthRequirements::from_route(route));
    } catch (const std::exception&) {
      return nullptr;
    }
  };
  const auto& config = ctx.config;
  const std::uint32_t index = ctx.match.route_index;
  // Contexts built without a snapshot (or whose route is not the snapshot's) are compiled on
  // the spot.
  if (!config || index >= config->routes.size() || &config->routes[index] != ctx.match.route) {
    return compile(*ctx.match.route);
  }
  if (config != cached_config_) {
    cached_config_ = config;
    cached_.assign(config->routes.size(), nullptr);
    cached_done_.assign(config->routes.size(), false);
  }
  if (!cached_done_[index]) {
    cached_[index] = compile(*ctx.match.route);
    cached_done_[index] = true;
  }
  return cached_[index];
}

asio::awaitable<AuthAttempt> AuthFilter::authenticate_with_refetch(std::string token,
                                                                   SystemTime at) {
  const auto* jwt = shared_->jwt.get();
  asio::any_io_executor ex = executor_;
  // The refetch completes on the JWKS thread (or inline when rate-limited); the result is
  // posted back so the coroutine always resumes on this worker's event loop.
  auto init = [jwt, ex](auto handler, std::string tok, SystemTime t) {
    using Handler = decltype(handler);
    auto shared_handler = std::make_shared<Handler>(std::move(handler));
    jwt->authenticate_with_refetch(std::move(tok), t, [shared_handler, ex](JwtResult r) {
      asio::post(ex, [shared_handler, attempt = from_jwt(std::move(r))]() mutable {
        (*shared_handler)(std::move(attempt));
      });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(AuthAttempt)>(
      init, asio::use_awaitable, std::move(token), at);
}

void AuthFilter::strip_credentials(RequestContext& ctx) const {
  ctx.head->erase(http::field::authorization);
  if (!shared_->api_key_header.empty()) ctx.head->erase(shared_->api_key_header);
}

std::optional<Verdict> AuthFilter::decide_now(RequestContext& ctx) {
  // Every request, public routes included: identity headers only ever come from us.
  strip_identity_headers(*ctx.head);
  if (ctx.match.route == nullptr) return Continue{};
  const bool forward_credentials = ctx.route().forward_authorization;
  auto req = requirements_for(ctx);
  if (!req) {
    count(shared_->unauthorized);
    return LocalReply(ErrorCode::kInternal, "route authentication is misconfigured");
  }
  if (!req->auth_required) {
    if (!forward_credentials) strip_credentials(ctx);
    return Continue{};
  }

  const std::string_view authorization = (*ctx.head)[http::field::authorization];
  const auto bearer = extract_bearer_token(authorization);
  std::optional<std::string_view> api_key;
  if (shared_->api_keys_enabled) {
    api_key = extract_api_key((*ctx.head)[shared_->api_key_header], authorization);
  }

  AuthAttempt attempt;
  std::string_view method = "none";
  const SystemTime at = now();
  if (bearer && req->accept_jwt && shared_->jwt) {
    method = "jwt";
    JwtResult r = shared_->jwt->authenticate(*bearer, at);
    if (!r.ok() && r.error() == JwtError::kUnknownKid && shared_->jwt->jwks() != nullptr) {
      return std::nullopt;  // the key set is fetched again: on_request waits for it
    }
    attempt = from_jwt(std::move(r));
  } else if (api_key && req->accept_api_key && shared_->api_keys) {
    method = "api_key";
    ApiKeyResult r = shared_->api_keys->lookup(*api_key, at);
    if (r.ok()) {
      attempt.principal = std::move(r).principal();
    } else {
      attempt.failure = credential_failure(r.error());
    }
  } else if (bearer || api_key) {
    // A credential of a kind this route (or this gateway) does not take.
    method = bearer ? "jwt" : "api_key";
    Principal stranger;
    stranger.auth_method = bearer ? AuthMethod::kJwt : AuthMethod::kApiKey;
    attempt.failure = authorize(&stranger, *req);
    if (attempt.failure.allowed() || attempt.failure.status != 401) {
      attempt.failure = missing_credentials();
    }
  } else {
    attempt.failure = missing_credentials();
  }
  Verdict v = finish(ctx, *req, std::move(attempt), method);
  if (!forward_credentials) strip_credentials(ctx);
  return v;
}

asio::awaitable<Verdict> AuthFilter::on_request(RequestContext& ctx) {
  if (auto verdict = decide_now(ctx)) co_return std::move(*verdict);
  // Only a JWT naming a key id the key set lacks gets here (see decide_now). The JWKS thread
  // gets its own copy of the token; the request waits, suspended.
  const auto req = requirements_for(ctx);
  const auto bearer = extract_bearer_token((*ctx.head)[http::field::authorization]);
  if (!req || !bearer) co_return LocalReply(ErrorCode::kInternal, "route authentication failed");
  AuthAttempt attempt = co_await authenticate_with_refetch(std::string(*bearer), now());
  Verdict v = finish(ctx, *req, std::move(attempt), "jwt");
  if (!ctx.route().forward_authorization) strip_credentials(ctx);
  co_return v;
}

Verdict AuthFilter::finish(RequestContext& ctx, const RouteAuthRequirements& req,
                           AuthAttempt attempt, std::string_view method) {
  AuthzDecision decision =
      attempt.principal ? authorize(&*attempt.principal, req) : attempt.failure;
  // Without a principal nothing may pass, whatever the failure value says.
  if (!attempt.principal && decision.allowed()) decision = missing_credentials();
  if (decision.allowed()) {
    count(shared_->allowed);
    for (auto& [name, value] : identity_headers(*attempt.principal)) {
      ctx.head->set(name, value);
    }
    ctx.identity = to_identity(*attempt.principal);
    return Continue{};
  }
  const bool forbidden = decision.outcome == AuthzOutcome::kForbidden;
  count(forbidden ? shared_->forbidden : shared_->unauthorized);
  audit_failure(ctx, forbidden ? "auth_forbidden" : "auth_failure", decision, method,
                attempt.principal ? attempt.principal->subject : std::string());
  LocalReply reply(forbidden ? ErrorCode::kForbidden : ErrorCode::kUnauthorized,
                   std::string(decision.message), decision.status);
  if (!decision.www_authenticate.empty()) {
    reply.headers.emplace_back("WWW-Authenticate", std::string(decision.www_authenticate));
  }
  std::string details = "{";
  append_json_member(details, "reason", decision.reason);
  details += '}';
  reply.details_json = std::move(details);
  return reply;
}

void AuthFilter::audit_failure(const RequestContext& ctx, std::string_view event,
                               const AuthzDecision& decision, std::string_view method,
                               const std::string& user_id) const {
  if (!shared_->audit) return;
  AuditRecord rec;
  rec.event_type = std::string(event);
  rec.user_id = user_id;
  rec.ip_address = ctx.client_ip;
  rec.user_agent = std::string((*ctx.head)[http::field::user_agent]);
  rec.request_id = ctx.request_id;
  std::string d = "{";
  append_json_member(d, "reason", decision.reason);
  append_json_member(d, "method", method);
  append_json_member(d, "route", ctx.route().name);
  d += '}';
  rec.details_json = std::move(d);
  rec.created_at = now();
  shared_->audit->submit_limited(std::move(rec));
}

}  // namespace gatewayd::auth
