#include "filters/auth/token_endpoints.hpp"

// GCC 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <nlohmann/json.hpp>

#include "filters/auth/credentials.hpp"

namespace gatewayd::auth {
namespace {

using json = nlohmann::json;

constexpr std::string_view kTokenPath = "/auth/token";
constexpr std::string_view kRefreshPath = "/auth/refresh";
constexpr std::string_view kRevokePath = "/auth/revoke";

// Bounds on what an internal client may put into a token (they end up in headers upstream).
constexpr std::size_t kMaxValueChars = 256;
constexpr std::size_t kMaxListItems = 64;

void add_common_headers(LocalResponse& r) {
  r.headers.emplace_back("Content-Type", "application/json");
  // Token answers must never be cached (RFC 6749 section 5.1); errors neither, for simplicity.
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
}

bool valid_value(const std::string& s) {
  if (s.empty() || s.size() > kMaxValueChars) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

// Reads an optional array of strings; false when present but not a bounded list of values.
bool read_list(const json& doc, const char* name, std::vector<std::string>& out) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return true;
  if (!it->is_array() || it->size() > kMaxListItems) return false;
  for (const auto& v : *it) {
    if (!v.is_string()) return false;
    std::string s = v.get<std::string>();
    if (!valid_value(s)) return false;
    out.push_back(std::move(s));
  }
  return true;
}

bool read_scope_string(const std::string& text, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j > i) {
      std::string s = text.substr(i, j - i);
      if (!valid_value(s) || out.size() >= kMaxListItems) return false;
      out.push_back(std::move(s));
    }
    i = j;
  }
  return true;
}

// The grant an internal client asks for; nullopt with `why` set when the body is unusable.
std::optional<Grant> parse_grant(std::string_view body, std::string& why) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    why = "body must be a JSON object";
    return std::nullopt;
  }
  Grant g;
  for (const char* name : {"sub", "user_id"}) {
    auto it = doc.find(name);
    if (it != doc.end() && it->is_string()) {
      g.subject = it->get<std::string>();
      break;
    }
  }
  if (!valid_value(g.subject)) {
    why = "sub must be a non-empty string of at most 256 characters";
    return std::nullopt;
  }
  if (auto it = doc.find("tenant_id"); it != doc.end() && !it->is_null()) {
    if (!it->is_string() || !valid_value(it->get<std::string>())) {
      why = "tenant_id must be a short string";
      return std::nullopt;
    }
    g.tenant_id = it->get<std::string>();
  }
  if (!read_list(doc, "roles", g.roles) || !read_list(doc, "permissions", g.permissions) ||
      !read_list(doc, "scopes", g.scopes)) {
    why = "roles, permissions and scopes must be lists of at most 64 short strings";
    return std::nullopt;
  }
  if (auto it = doc.find("scope"); it != doc.end() && !it->is_null()) {
    if (!it->is_string() || !read_scope_string(it->get<std::string>(), g.scopes)) {
      why = "scope must be a space-separated string";
      return std::nullopt;
    }
  }
  return g;
}

// {"refresh_token": "..."} (or RFC 7009's "token"); empty when absent or not a string.
std::string refresh_token_of(const json& doc) {
  for (const char* name : {"refresh_token", "token"}) {
    auto it = doc.find(name);
    if (it != doc.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

std::string token_body(const TokenOutcome& o, std::string_view refresh_token) {
  json doc{{"access_token", o.access_token},
           {"refresh_token", refresh_token},
           {"token_type", "Bearer"},
           {"expires_in", o.expires_in}};
  if (o.refresh_expires_in > 0) doc["refresh_expires_in"] = o.refresh_expires_in;
  return doc.dump();
}

std::string details(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  std::string out = "{";
  for (const auto& [k, v] : kv) {
    if (!v.empty()) append_json_member(out, k, v);
  }
  out += '}';
  return out;
}

}  // namespace

TokenEndpoints::TokenEndpoints(std::shared_ptr<TokenService> service, TokenEndpointOptions options,
                               std::shared_ptr<const ApiKeyStore> api_keys,
                               std::shared_ptr<AuditLimiter> audit, ClockFn clock)
    : service_(std::move(service)),
      options_(std::move(options)),
      api_keys_(std::move(api_keys)),
      audit_(std::move(audit)),
      clock_(clock ? std::move(clock) : ClockFn([] { return std::chrono::system_clock::now(); })) {
  if (!options_.client_secret.empty()) secret_digest_ = sha256(options_.client_secret);
}

bool TokenEndpoints::owns(std::string_view path) const noexcept {
  return path == kTokenPath || path == kRefreshPath || path == kRevokePath;
}

boost::asio::awaitable<LocalResponse> TokenEndpoints::handle(LocalRequest& request) {
  if (request.method != "POST") {
    LocalResponse r;
    r.status = 405;
    r.body = error_body(ErrorCode::kMethodNotAllowed, "use POST", request.request_id);
    add_common_headers(r);
    r.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  if (request.path == kTokenPath) co_return co_await issue(request);
  if (request.path == kRefreshPath) co_return co_await refresh(request);
  if (request.path == kRevokePath) co_return co_await revoke(request);
  LocalResponse r;
  r.status = 404;
  r.body = error_body(ErrorCode::kNotFound, "not found", request.request_id);
  add_common_headers(r);
  co_return r;
}

bool TokenEndpoints::internal_client(const LocalRequest& request, std::string& who) const {
  if (request.head == nullptr) return false;
  const std::string_view authorization = (*request.head)[boost::beast::http::field::authorization];
  if (!options_.client_secret.empty()) {
    if (auto bearer = extract_bearer_token(authorization)) {
      // Digests have a fixed length, so comparing them leaks nothing about the secret's length.
      const Sha256Digest presented = sha256(*bearer);
      if (constant_time_equal(
              std::string_view(reinterpret_cast<const char*>(presented.data()), presented.size()),
              std::string_view(reinterpret_cast<const char*>(secret_digest_.data()),
                               secret_digest_.size()))) {
        who = "internal-client";
        return true;
      }
      return false;
    }
  }
  if (options_.api_keys_enabled && api_keys_) {
    const std::string_view header = (*request.head)[options_.api_key_header];
    if (auto key = extract_api_key(header, authorization)) {
      ApiKeyResult r = api_keys_->lookup(*key, clock_());
      if (r.ok() && r.principal().has_scope(kTokenIssueScope)) {
        who = r.principal().subject;
        return true;
      }
    }
  }
  return false;
}

void TokenEndpoints::audit(const LocalRequest& request, std::string event, std::string user_id,
                           std::string details_json) const {
  if (!audit_) return;
  AuditRecord rec;
  rec.event_type = std::move(event);
  rec.user_id = std::move(user_id);
  rec.ip_address = request.client_ip;
  rec.user_agent = request.user_agent;
  rec.request_id = request.request_id;
  rec.details_json = std::move(details_json);
  rec.created_at = clock_();
  audit_->submit(std::move(rec));
}

LocalResponse TokenEndpoints::failure(const LocalRequest& request, std::string_view operation,
                                      unsigned status, ErrorCode code, std::string_view reason,
                                      std::string_view message) const {
  LocalResponse r;
  r.status = status;
  r.body = error_body(code, message, request.request_id, details({{"reason", reason}}));
  add_common_headers(r);
  audit_failure(request, operation, reason);
  return r;
}

void TokenEndpoints::audit_failure(const LocalRequest& request, std::string_view operation,
                                   std::string_view reason) const {
  if (!audit_) return;
  AuditRecord rec;
  rec.event_type = "token_request_failed";
  rec.ip_address = request.client_ip;
  rec.user_agent = request.user_agent;
  rec.request_id = request.request_id;
  rec.details_json =
      details({{"endpoint", request.path}, {"operation", operation}, {"reason", reason}});
  rec.created_at = clock_();
  // A flood of bad refresh tokens must not flood the audit log.
  audit_->submit_limited(std::move(rec));
}

boost::asio::awaitable<LocalResponse> TokenEndpoints::issue(const LocalRequest& request) const {
  std::string who;
  if (!internal_client(request, who)) {
    LocalResponse r = failure(request, "issue", 401, ErrorCode::kUnauthorized, "INVALID_CLIENT",
                              "an internal client credential is required");
    r.headers.emplace_back("WWW-Authenticate", R"(Bearer error="invalid_client")");
    co_return r;
  }
  std::string why;
  auto grant = parse_grant(request.body, why);
  if (!grant) {
    co_return failure(request, "issue", 400, ErrorCode::kBadRequest, "INVALID_REQUEST", why);
  }
  TokenOutcome o = co_await service_->issue(std::move(*grant), clock_());
  if (!o.ok()) {
    co_return failure(request, "issue", 503, ErrorCode::kServiceUnavailable,
                      token_failure_name(o.failure), "tokens cannot be issued right now");
  }
  audit(request, "token_issued", o.grant.subject,
        details({{"client", who}, {"family", o.family}, {"store", service_->store().kind()}}));
  LocalResponse r;
  r.body = token_body(o, o.refresh_token);
  add_common_headers(r);
  co_return r;
}

boost::asio::awaitable<LocalResponse> TokenEndpoints::refresh(const LocalRequest& request) const {
  json doc = json::parse(request.body, nullptr, false);
  const std::string token = doc.is_object() ? refresh_token_of(doc) : std::string();
  if (token.empty()) {
    co_return failure(request, "refresh", 400, ErrorCode::kBadRequest, "INVALID_REQUEST",
                      "refresh_token is required");
  }
  TokenOutcome o = co_await service_->refresh(token, clock_());
  switch (o.failure) {
    case TokenFailure::kNone:
      break;
    case TokenFailure::kReused: {
      // Always recorded: this is how a stolen refresh token shows up.
      audit(request, "refresh_token_reuse", std::string(),
            details({{"family", o.family}, {"action", "family_revoked"}}));
      co_return failure(request, "refresh", 401, ErrorCode::kUnauthorized,
                        token_failure_name(o.failure), "refresh token is no longer valid");
    }
    case TokenFailure::kInvalidToken:
    case TokenFailure::kRevoked:
      co_return failure(request, "refresh", 401, ErrorCode::kUnauthorized,
                        token_failure_name(o.failure), "refresh token is invalid or expired");
    case TokenFailure::kUnavailable:
    case TokenFailure::kNoSigningKey:
    case TokenFailure::kSigningFailed:
      co_return failure(request, "refresh", 503, ErrorCode::kServiceUnavailable,
                        token_failure_name(o.failure), "tokens cannot be refreshed right now");
  }
  audit(request, "token_refreshed", o.grant.subject,
        details({{"family", o.family},
                 {"rotated", o.refresh_token.empty() ? "false" : "true"},
                 {"store", service_->store().kind()}}));
  LocalResponse r;
  r.body = token_body(o, o.refresh_token.empty() ? token : o.refresh_token);
  add_common_headers(r);
  co_return r;
}

boost::asio::awaitable<LocalResponse> TokenEndpoints::revoke(const LocalRequest& request) const {
  json doc = json::parse(request.body, nullptr, false);
  const std::string token = doc.is_object() ? refresh_token_of(doc) : std::string();
  if (token.empty()) {
    co_return failure(request, "revoke", 400, ErrorCode::kBadRequest, "INVALID_REQUEST",
                      "refresh_token is required");
  }
  bool family = false;
  if (auto it = doc.find("family"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      co_return failure(request, "revoke", 400, ErrorCode::kBadRequest, "INVALID_REQUEST",
                        "family must be true or false");
    }
    family = it->get<bool>();
  }
  TokenOutcome o = co_await service_->revoke(token, family, clock_());
  if (o.failure == TokenFailure::kUnavailable) {
    co_return failure(request, "revoke", 503, ErrorCode::kServiceUnavailable,
                      token_failure_name(o.failure), "tokens cannot be revoked right now");
  }
  if (o.ok()) {
    audit(request, "token_revoked", std::string(),
          details({{"family", o.family}, {"scope", family ? "family" : "token"}}));
  } else {
    // Nothing to revoke is not an error for the client (RFC 7009 section 2.2), but a stream of
    // them is worth seeing, so it counts as a (rate-limited) failure record.
    audit_failure(request, "revoke", token_failure_name(o.failure));
  }
  LocalResponse r;
  r.body = o.ok() ? R"({"revoked":true})" : R"({"revoked":false})";
  add_common_headers(r);
  co_return r;
}

}  // namespace gatewayd::auth
