#pragma once
// The gateway's CORS policy (Fetch standard, "CORS protocol"): which origins may read responses,
// what a preflight may allow, and what scripts may see. A policy is immutable once built; the
// admin API replaces it as a whole through CorsPolicyHolder, so a request always sees one
// consistent policy.
//
// Origin entries: `*`, exact origins (`https://app.example.com`, `http://localhost:3000`),
// wildcard subdomains (`https://*.example.com`: any depth below example.com, never example.com
// itself) and `null` (sandboxed documents and file: pages). With credentials, `*` reflects the
// request's origin (the standard forbids `*` there) but never `null`: a credentialed `null`
// is open to any sandboxed page, so it takes an explicit `null` entry.
//
// The global policy comes from the settings and the admin API; a route may carry its own
// (routes.yaml `cors:`, built by the config loader into RouteConfig::cors), which replaces the
// global one for that route's preflights and responses. In routes.yaml `*` together with
// allow_credentials is refused rather than reflected.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "admin/field_error.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd {

// The fields of a policy as plain data: what settings and admin bodies describe.
struct CorsOptions {
  bool enabled = true;
  std::vector<std::string> allowed_origins{"*"};
  std::vector<std::string> allowed_methods{"GET",   "HEAD",   "POST",   "PUT",
                                           "PATCH", "DELETE", "OPTIONS"};
  std::vector<std::string> allowed_headers{"Authorization", "Content-Type", "X-API-Key",
                                           "X-Request-Id"};
  std::vector<std::string> exposed_headers{"X-Request-Id", "X-RateLimit-Limit",
                                           "X-RateLimit-Remaining", "X-RateLimit-Reset",
                                           "Retry-After"};
  bool allow_credentials = false;
  std::chrono::seconds max_age{600};
};

inline constexpr std::int64_t kCorsMaxAgeLimit = 86400;  // Firefox's cap; Chromium caps at 7200

// One allowed-origin entry, parsed and normalised (lower-case scheme and host, default port
// dropped).
struct OriginPattern {
  enum class Kind { kAny, kNull, kExact, kWildcard };
  Kind kind = Kind::kExact;
  std::string scheme;
  std::string host;  // kWildcard: the suffix with its leading dot (".example.com")
  std::string port;  // empty = the scheme's default

  // Parses a configured entry, or a request's Origin value (which must come out kExact or
  // kNull); nullopt with `why` set when it is neither.
  static std::optional<OriginPattern> parse(std::string_view entry, std::string& why);
  // Whether a parsed request origin (kExact) matches this entry.
  bool matches(const OriginPattern& origin) const;
  // The normalised text, the form to_json() shows.
  std::string text() const;
};

class CorsPolicy {
 public:
  // The defaults of the settings table (CORS enabled, every origin, no credentials).
  CorsPolicy();

  // Validates `options`; the field names are those of the JSON form ("allowed_origins[1]").
  static std::variant<CorsPolicy, std::vector<admin::FieldError>> create(CorsOptions options);
  // From CORS_ENABLED, ALLOWED_ORIGINS and CORS_*; throws SettingsError naming the variable.
  static CorsPolicy from_settings(const Settings& settings);
  // An admin body: every field is optional and keeps its value from `base` when absent, so a
  // client can send back what GET returned, or only the fields it changes. Unknown fields and
  // wrong types are errors; nothing is applied unless the whole body is valid.
  static std::variant<CorsPolicy, std::vector<admin::FieldError>> from_json(
      const nlohmann::json& body, const CorsPolicy& base);
  nlohmann::json to_json() const;

  bool enabled() const noexcept { return options_.enabled; }
  const CorsOptions& options() const noexcept { return options_; }

  // The Access-Control-Allow-Origin value for a request from `origin`, nullopt when the origin
  // is not allowed. `*` only when the policy allows any origin without credentials; otherwise
  // the request's own Origin value (browsers compare it byte for byte).
  std::optional<std::string> allow_origin(std::string_view origin) const;
  // Case-insensitive. `*` in the list allows any method or header.
  bool method_allowed(std::string_view method) const;
  bool header_allowed(std::string_view header) const;
  bool any_header() const noexcept { return any_header_; }
  bool any_method() const noexcept { return any_method_; }

  // Comma-joined lists for the response headers ("" when empty).
  const std::string& methods_value() const noexcept { return methods_value_; }
  const std::string& headers_value() const noexcept { return headers_value_; }
  const std::string& exposed_value() const noexcept { return exposed_value_; }

 private:
  explicit CorsPolicy(CorsOptions options, std::vector<OriginPattern> origins);

  CorsOptions options_;
  std::vector<OriginPattern> origins_;
  bool any_origin_ = false;
  bool any_method_ = false;
  bool any_header_ = false;
  std::string methods_value_, headers_value_, exposed_value_;
};

// The policy every worker reads, replaced at run time by the admin API. Readers take a
// shared_ptr copy, so a replacement never changes the policy under a request in flight.
class CorsPolicyHolder {
 public:
  explicit CorsPolicyHolder(CorsPolicy initial = CorsPolicy());
  // CorsPolicy::from_settings; throws SettingsError.
  static std::shared_ptr<CorsPolicyHolder> from_settings(const Settings& settings);

  std::shared_ptr<const CorsPolicy> get() const;
  void set(CorsPolicy policy);

  // For the admin API (AdminDeps::cors / update_cors): the current policy as JSON, and a
  // replacement merged over it (empty result = applied; otherwise nothing changed).
  nlohmann::json to_json() const;
  std::vector<admin::FieldError> update(const nlohmann::json& body);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const CorsPolicy> policy_;
};

}  // namespace gatewayd
