#include "filters/auth/token_service.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <nlohmann/json.hpp>

#include "filters/auth/crypto_util.hpp"

namespace gatewayd::auth {
namespace {

using json = nlohmann::json;

std::int64_t epoch_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool read_strings(const json& doc, const char* name, std::vector<std::string>& out) {
  auto it = doc.find(name);
  if (it == doc.end()) return true;
  if (!it->is_array()) return false;
  for (const auto& v : *it) {
    if (!v.is_string()) return false;
    out.push_back(v.get<std::string>());
  }
  return true;
}

std::string join(const std::vector<std::string>& items, char sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

TokenOutcome failed(TokenFailure f, std::string error = {}) {
  TokenOutcome o;
  o.failure = f;
  o.error = std::move(error);
  return o;
}

TokenFailure from_status(RefreshStatus s) {
  switch (s) {
    case RefreshStatus::kOk:
      return TokenFailure::kNone;
    case RefreshStatus::kUnknown:
      return TokenFailure::kInvalidToken;
    case RefreshStatus::kReused:
      return TokenFailure::kReused;
    case RefreshStatus::kRevoked:
      return TokenFailure::kRevoked;
    case RefreshStatus::kUnavailable:
      return TokenFailure::kUnavailable;
  }
  return TokenFailure::kUnavailable;
}

}  // namespace

std::string Grant::to_json() const {
  json doc{{"sub", subject}, {"roles", roles}, {"permissions", permissions}, {"scopes", scopes}};
  if (!tenant_id.empty()) doc["tenant_id"] = tenant_id;
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Grant> Grant::from_json(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  Grant g;
  auto sub = doc.find("sub");
  if (sub == doc.end() || !sub->is_string()) return std::nullopt;
  g.subject = sub->get<std::string>();
  if (auto t = doc.find("tenant_id"); t != doc.end() && t->is_string()) {
    g.tenant_id = t->get<std::string>();
  }
  if (!read_strings(doc, "roles", g.roles) || !read_strings(doc, "permissions", g.permissions) ||
      !read_strings(doc, "scopes", g.scopes)) {
    return std::nullopt;
  }
  return g;
}

std::string_view token_failure_name(TokenFailure failure) noexcept {
  switch (failure) {
    case TokenFailure::kNone:
      return "OK";
    case TokenFailure::kInvalidToken:
      return "REFRESH_TOKEN_INVALID";
    case TokenFailure::kReused:
      return "REFRESH_TOKEN_REUSED";
    case TokenFailure::kRevoked:
      return "REFRESH_TOKEN_REVOKED";
    case TokenFailure::kUnavailable:
      return "TOKEN_STORE_UNAVAILABLE";
    case TokenFailure::kNoSigningKey:
      return "NO_SIGNING_KEY";
    case TokenFailure::kSigningFailed:
      return "SIGNING_FAILED";
  }
  return "INTERNAL";
}

TokenService::TokenService(std::shared_ptr<const JwtSigner> signer, TokenServiceOptions options,
                           std::shared_ptr<RefreshTokenStore> store)
    : signer_(std::move(signer)), options_(std::move(options)), store_(std::move(store)) {}

std::optional<std::string> TokenService::sign_access_token(const Grant& grant,
                                                           SystemTime now) const {
  if (!signer_) return std::nullopt;
  const std::int64_t iat = epoch_seconds(now);
  json claims{{"sub", grant.subject},
              {"iat", iat},
              {"nbf", iat},
              {"exp", iat + options_.access_ttl.count()},
              {"jti", base64url_encode(random_bytes(16))},
              {"roles", grant.roles},
              {"permissions", grant.permissions}};
  if (!grant.scopes.empty()) claims["scope"] = join(grant.scopes, ' ');
  if (!grant.tenant_id.empty()) claims["tenant_id"] = grant.tenant_id;
  if (!options_.issuer.empty()) claims["iss"] = options_.issuer;
  if (!options_.audience.empty()) claims["aud"] = options_.audience;
  return signer_->sign(claims);
}

boost::asio::awaitable<TokenOutcome> TokenService::issue(Grant grant, SystemTime now) {
  if (!signer_) co_return failed(TokenFailure::kNoSigningKey);
  auto access = sign_access_token(grant, now);
  if (!access) co_return failed(TokenFailure::kSigningFailed, "access token signing failed");
  NewRefreshToken refresh = generate_refresh_token();
  RefreshStoreResult stored =
      co_await store_->put(refresh.id, grant.to_json(), options_.refresh_ttl, now);
  if (!stored.ok()) co_return failed(from_status(stored.status), std::move(stored.error));
  TokenOutcome out;
  out.access_token = std::move(*access);
  out.refresh_token = std::move(refresh.token);
  out.expires_in = options_.access_ttl.count();
  out.refresh_expires_in = options_.refresh_ttl.count();
  out.family = std::move(refresh.id.family);
  out.grant = std::move(grant);
  co_return out;
}

boost::asio::awaitable<TokenOutcome> TokenService::refresh(std::string refresh_token,
                                                           SystemTime now) {
  if (!signer_) co_return failed(TokenFailure::kNoSigningKey);
  auto id = parse_refresh_token(refresh_token);
  if (!id) co_return failed(TokenFailure::kInvalidToken);
  const std::string family = id->family;
  // The family marker must outlive every token of the family; none lives longer than this.
  const std::chrono::milliseconds family_ttl = options_.refresh_ttl;
  RefreshStoreResult r;
  std::optional<NewRefreshToken> fresh;
  if (options_.rotation) {
    // The store copies the old token's grant to the new one inside its atomic step.
    fresh = generate_refresh_token(family);
    r = co_await store_->rotate(*id, fresh->id, options_.refresh_ttl, family_ttl, now);
  } else {
    r = co_await store_->get(*id, family_ttl, now);
  }
  TokenOutcome out;
  out.family = family;
  if (!r.ok()) {
    out.failure = from_status(r.status);
    out.error = std::move(r.error);
    co_return out;
  }
  auto grant = Grant::from_json(r.data);
  if (!grant) co_return failed(TokenFailure::kInvalidToken, "stored grant unreadable");
  auto access = sign_access_token(*grant, now);
  if (!access) co_return failed(TokenFailure::kSigningFailed, "access token signing failed");
  out.access_token = std::move(*access);
  out.expires_in = options_.access_ttl.count();
  if (fresh) {
    out.refresh_token = std::move(fresh->token);
    out.refresh_expires_in = options_.refresh_ttl.count();
  }
  out.grant = std::move(*grant);
  co_return out;
}

boost::asio::awaitable<TokenOutcome> TokenService::revoke(std::string refresh_token, bool family,
                                                          SystemTime now) {
  auto id = parse_refresh_token(refresh_token);
  if (!id) co_return failed(TokenFailure::kInvalidToken);
  RefreshStoreResult r = co_await store_->revoke(*id, family, options_.refresh_ttl, now);
  TokenOutcome out;
  out.family = id->family;
  out.failure = from_status(r.status);
  out.error = std::move(r.error);
  co_return out;
}

}  // namespace gatewayd::auth
