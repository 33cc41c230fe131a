#include "config/cors_policy.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

namespace gatewayd {

using nlohmann::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  });
  return out;
}

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 9110 token characters: method and field names.
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return is_alpha(c) || is_digit(c) || kExtra.find(c) != std::string_view::npos;
  });
}

bool valid_scheme(std::string_view s) noexcept {
  if (s.empty() || !is_alpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
  });
}

// A DNS name or IPv4 address (labels of letters, digits, '-' and '_'), or a bracketed IPv6.
bool valid_host(std::string_view h) noexcept {
  if (h.empty()) return false;
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    const auto inner = h.substr(1, h.size() - 2);
    return std::all_of(inner.begin(), inner.end(),
                       [](char c) { return is_hex(c) || c == ':' || c == '.'; });
  }
  std::size_t label = 0;
  for (const char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
      ++label;
    } else {
      return false;
    }
  }
  return label != 0;
}

std::string_view default_port(std::string_view scheme) noexcept {
  if (scheme == "http" || scheme == "ws") return "80";
  if (scheme == "https" || scheme == "wss") return "443";
  return {};
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool contains_star(const std::vector<std::string>& items) {
  return std::find(items.begin(), items.end(), "*") != items.end();
}

bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
           return fold(x) == fold(y);
         });
}

bool contains_ci(const std::vector<std::string>& items, std::string_view value) {
  return std::any_of(items.begin(), items.end(),
                     [&](const std::string& item) { return iequals_ascii(item, value); });
}

// Checks a list of method or field names; `what` names the kind in the message.
void check_tokens(const std::vector<std::string>& items, std::string_view field,
                  std::string_view what, std::vector<admin::FieldError>& errors) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i] == "*" || is_token(items[i])) continue;
    errors.push_back({std::string(field) + "[" + std::to_string(i) + "]",
                      "'" + items[i] + "' is not " + std::string(what)});
  }
}

std::vector<admin::FieldError> validate(CorsOptions& options, std::vector<OriginPattern>& origins) {
  std::vector<admin::FieldError> errors;
  for (std::size_t i = 0; i < options.allowed_origins.size(); ++i) {
    std::string why;
    auto pattern = OriginPattern::parse(options.allowed_origins[i], why);
    if (!pattern) {
      errors.push_back({"allowed_origins[" + std::to_string(i) + "]",
                        "'" + options.allowed_origins[i] + "' is not an origin: " + why});
      continue;
    }
    // Stored normalised, so what GET shows is what the policy compares against.
    options.allowed_origins[i] = pattern->text();
    origins.push_back(std::move(*pattern));
  }
  check_tokens(options.allowed_methods, "allowed_methods", "a method name", errors);
  check_tokens(options.allowed_headers, "allowed_headers", "a header name", errors);
  check_tokens(options.exposed_headers, "exposed_headers", "a header name", errors);
  if (options.allow_credentials) {
    // Browsers read `*` in Access-Control-Expose-Headers literally on credentialed requests,
    // so it would silently expose nothing.
    for (std::size_t i = 0; i < options.exposed_headers.size(); ++i) {
      if (options.exposed_headers[i] != "*") continue;
      errors.push_back({"exposed_headers[" + std::to_string(i) + "]",
                        "'*' exposes nothing to credentialed requests; list the headers"});
    }
  }
  if (options.max_age.count() < 0 || options.max_age.count() > kCorsMaxAgeLimit) {
    errors.push_back(
        {"max_age_seconds", "must be between 0 and " + std::to_string(kCorsMaxAgeLimit)});
  }
  return errors;
}

// Settings variable of a JSON field ("allowed_origins[2]" → ALLOWED_ORIGINS).
std::string_view variable_of(std::string_view field) {
  field = field.substr(0, field.find('['));
  if (field == "enabled") return "CORS_ENABLED";
  if (field == "allowed_origins") return "ALLOWED_ORIGINS";
  if (field == "allowed_methods") return "CORS_ALLOWED_METHODS";
  if (field == "allowed_headers") return "CORS_ALLOWED_HEADERS";
  if (field == "exposed_headers") return "CORS_EXPOSED_HEADERS";
  if (field == "allow_credentials") return "CORS_ALLOW_CREDENTIALS";
  if (field == "max_age_seconds") return "CORS_MAX_AGE_SECONDS";
  return "CORS";
}

bool read_bool(const json& body, const char* name, bool& out,
               std::vector<admin::FieldError>& errors) {
  const auto it = body.find(name);
  if (it == body.end()) return true;
  if (!it->is_boolean()) {
    errors.push_back({name, "expected true or false"});
    return false;
  }
  out = it->get<bool>();
  return true;
}

void read_list(const json& body, const char* name, std::vector<std::string>& out,
               std::vector<admin::FieldError>& errors) {
  const auto it = body.find(name);
  if (it == body.end()) return;
  if (!it->is_array() ||
      !std::all_of(it->begin(), it->end(), [](const json& v) { return v.is_string(); })) {
    errors.push_back({name, "expected a list of strings"});
    return;
  }
  out.clear();
  for (const auto& v : *it) out.push_back(v.get<std::string>());
}

}  // namespace

// ---------------------------------------------------------------------------- OriginPattern

std::optional<OriginPattern> OriginPattern::parse(std::string_view entry, std::string& why) {
  OriginPattern p;
  if (entry == "*") {
    p.kind = Kind::kAny;
    return p;
  }
  if (entry == "null") {
    p.kind = Kind::kNull;
    return p;
  }
  const auto sep = entry.find("://");
  if (sep == std::string_view::npos) {
    why = "expected scheme://host[:port], `*` or `null`";
    return std::nullopt;
  }
  const auto scheme = entry.substr(0, sep);
  if (!valid_scheme(scheme)) {
    why = "bad scheme";
    return std::nullopt;
  }
  std::string_view rest = entry.substr(sep + 3);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    why = "an origin is only scheme://host[:port], without path, query or user";
    return std::nullopt;
  }
  p.scheme = lower(scheme);

  // A port follows the last ':' outside IPv6 brackets.
  std::string_view host = rest;
  const auto colon = rest.rfind(':');
  const auto bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = rest.substr(0, colon);
    const auto port = rest.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || port.size() > 5 || ec != std::errc() || end != port.data() + port.size() ||
        value == 0 || value > 65535) {
      why = "bad port";
      return std::nullopt;
    }
    p.port = std::to_string(value);  // drops leading zeros, as browsers serialise it
    if (p.port == default_port(p.scheme)) p.port.clear();
  }

  if (host.starts_with("*.")) {
    p.kind = Kind::kWildcard;
    host.remove_prefix(1);  // keep the dot: ".example.com" never matches "evilexample.com"
    if (!valid_host(host.substr(1)) || host.find('*') != std::string_view::npos || host[1] == '[') {
      why = "a wildcard is `*.` followed by a domain name";
      return std::nullopt;
    }
  } else if (!valid_host(host)) {
    why = host.find('*') != std::string_view::npos
              ? "a wildcard may only stand for the first labels (`https://*.example.com`)"
              : "bad host";
    return std::nullopt;
  }
  p.host = lower(host);
  return p;
}

bool OriginPattern::matches(const OriginPattern& origin) const {
  if (origin.kind != Kind::kExact) return false;
  switch (kind) {
    case Kind::kAny:
      return true;
    case Kind::kNull:
      return false;
    case Kind::kExact:
      return scheme == origin.scheme && host == origin.host && port == origin.port;
    case Kind::kWildcard:
      // `host` starts with '.', so a longer host ending with it has at least one label before.
      return scheme == origin.scheme && port == origin.port && origin.host.size() > host.size() &&
             origin.host.ends_with(host);
  }
  return false;
}

std::string OriginPattern::text() const {
  switch (kind) {
    case Kind::kAny:
      return "*";
    case Kind::kNull:
      return "null";
    case Kind::kExact:
    case Kind::kWildcard:
      break;
  }
  std::string out = scheme + "://" + (kind == Kind::kWildcard ? "*" : "") + host;
  if (!port.empty()) out += ":" + port;
  return out;
}

// ---------------------------------------------------------------------------- CorsPolicy

CorsPolicy::CorsPolicy() : CorsPolicy(std::get<CorsPolicy>(create(CorsOptions{}))) {}

CorsPolicy::CorsPolicy(CorsOptions options, std::vector<OriginPattern> origins)
    : options_(std::move(options)), origins_(std::move(origins)) {
  any_origin_ = std::any_of(origins_.begin(), origins_.end(),
                            [](const auto& o) { return o.kind == OriginPattern::Kind::kAny; });
  any_method_ = contains_star(options_.allowed_methods);
  any_header_ = contains_star(options_.allowed_headers);
  methods_value_ = join(options_.allowed_methods);
  headers_value_ = join(options_.allowed_headers);
  exposed_value_ = join(options_.exposed_headers);
}

std::variant<CorsPolicy, std::vector<admin::FieldError>> CorsPolicy::create(CorsOptions options) {
  std::vector<OriginPattern> origins;
  auto errors = validate(options, origins);
  if (!errors.empty()) return errors;
  return CorsPolicy(std::move(options), std::move(origins));
}

CorsPolicy CorsPolicy::from_settings(const Settings& settings) {
  CorsOptions o;
  o.enabled = settings.get_bool("CORS_ENABLED");
  o.allowed_origins = settings.get_list("ALLOWED_ORIGINS");
  o.allowed_methods = settings.get_list("CORS_ALLOWED_METHODS");
  o.allowed_headers = settings.get_list("CORS_ALLOWED_HEADERS");
  o.exposed_headers = settings.get_list("CORS_EXPOSED_HEADERS");
  o.allow_credentials = settings.get_bool("CORS_ALLOW_CREDENTIALS");
  o.max_age = std::chrono::seconds(settings.get_int("CORS_MAX_AGE_SECONDS"));
  auto result = create(std::move(o));
  if (auto* errors = std::get_if<std::vector<admin::FieldError>>(&result)) {
    const auto& first = errors->front();
    throw SettingsError(std::string(variable_of(first.field)) + ": " + first.message);
  }
  return std::get<CorsPolicy>(std::move(result));
}

std::variant<CorsPolicy, std::vector<admin::FieldError>> CorsPolicy::from_json(
    const json& body, const CorsPolicy& base) {
  if (!body.is_object()) {
    return std::vector<admin::FieldError>{{"body", "expected a JSON object"}};
  }
  static constexpr std::string_view kFields[] = {
      "enabled",         "allowed_origins",   "allowed_methods", "allowed_headers",
      "exposed_headers", "allow_credentials", "max_age_seconds"};
  std::vector<admin::FieldError> errors;
  for (const auto& [key, value] : body.items()) {
    if (std::find(std::begin(kFields), std::end(kFields), key) == std::end(kFields)) {
      errors.push_back({key, "unknown field"});
    }
  }
  CorsOptions o = base.options();
  read_bool(body, "enabled", o.enabled, errors);
  read_list(body, "allowed_origins", o.allowed_origins, errors);
  read_list(body, "allowed_methods", o.allowed_methods, errors);
  read_list(body, "allowed_headers", o.allowed_headers, errors);
  read_list(body, "exposed_headers", o.exposed_headers, errors);
  read_bool(body, "allow_credentials", o.allow_credentials, errors);
  if (const auto it = body.find("max_age_seconds"); it != body.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
        it->get<std::int64_t>() > kCorsMaxAgeLimit) {
      errors.push_back({"max_age_seconds",
                        "expected an integer between 0 and " + std::to_string(kCorsMaxAgeLimit)});
    } else {
      o.max_age = std::chrono::seconds(it->get<std::int64_t>());
    }
  }
  if (!errors.empty()) return errors;
  return create(std::move(o));
}

json CorsPolicy::to_json() const {
  return {{"enabled", options_.enabled},
          {"allowed_origins", options_.allowed_origins},
          {"allowed_methods", options_.allowed_methods},
          {"allowed_headers", options_.allowed_headers},
          {"exposed_headers", options_.exposed_headers},
          {"allow_credentials", options_.allow_credentials},
          {"max_age_seconds", options_.max_age.count()}};
}

std::optional<std::string> CorsPolicy::allow_origin(std::string_view origin) const {
  if (origin.empty()) return std::nullopt;
  std::string why;
  const auto parsed = OriginPattern::parse(origin, why);
  const bool is_null = parsed && parsed->kind == OriginPattern::Kind::kNull;
  const bool is_origin = parsed && parsed->kind == OriginPattern::Kind::kExact;
  if (!is_null && !is_origin) return std::nullopt;  // "*", wildcards and garbage are no origins
  // Without credentials `*` is the same answer for everyone, cache-friendly and what the
  // standard intends; with credentials the standard forbids it.
  if (any_origin_ && !options_.allow_credentials) return std::string("*");
  const bool allowed = std::any_of(origins_.begin(), origins_.end(), [&](const auto& entry) {
    return is_null ? entry.kind == OriginPattern::Kind::kNull : entry.matches(*parsed);
  });
  if (!allowed) return std::nullopt;
  return std::string(origin);
}

bool CorsPolicy::method_allowed(std::string_view method) const {
  return any_method_ || contains_ci(options_.allowed_methods, method);
}

bool CorsPolicy::header_allowed(std::string_view header) const {
  return any_header_ || contains_ci(options_.allowed_headers, header);
}

// ---------------------------------------------------------------------------- CorsPolicyHolder

CorsPolicyHolder::CorsPolicyHolder(CorsPolicy initial)
    : policy_(std::make_shared<const CorsPolicy>(std::move(initial))) {}

std::shared_ptr<CorsPolicyHolder> CorsPolicyHolder::from_settings(const Settings& settings) {
  return std::make_shared<CorsPolicyHolder>(CorsPolicy::from_settings(settings));
}

std::shared_ptr<const CorsPolicy> CorsPolicyHolder::get() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

void CorsPolicyHolder::set(CorsPolicy policy) {
  auto next = std::make_shared<const CorsPolicy>(std::move(policy));
  std::lock_guard lock(mutex_);
  policy_.swap(next);
  // `lock` is destroyed before `next`, so the old policy is freed outside the critical section.
}

json CorsPolicyHolder::to_json() const {
  return get()->to_json();
}

std::vector<admin::FieldError> CorsPolicyHolder::update(const json& body) {
  // Serialised under one lock so two concurrent updates cannot both merge over the same base
  // and lose one of them.
  std::lock_guard lock(mutex_);
  auto result = CorsPolicy::from_json(body, *policy_);
  if (auto* errors = std::get_if<std::vector<admin::FieldError>>(&result)) return *errors;
  policy_ = std::make_shared<const CorsPolicy>(std::get<CorsPolicy>(std::move(result)));
  return {};
}

}  // namespace gatewayd
