#include "admin/api_key_json.hpp"

#include <algorithm>
#include <array>

namespace gatewayd::admin {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdLength = 128;  // user_id, tenant_id and list items (column sizes)
constexpr std::size_t kMaxNameLength = 255;
constexpr std::size_t kMaxListItems = 100;
constexpr std::uint64_t kMaxRateLimit = 1'000'000'000;

struct Grants {
  std::vector<std::string> permissions, roles, scopes;
};

// `permissions` is a list (the reference format) or an object of lists (gatewayd's, for keys
// that also carry roles or scopes).
std::optional<Grants> grants_from_json(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  Grants g;
  const auto list = [](const json& v, std::vector<std::string>& out) {
    if (v.is_null()) return true;
    if (!v.is_array()) return false;
    for (const auto& item : v) {
      if (!item.is_string()) return false;
      out.push_back(item.get<std::string>());
    }
    return true;
  };
  if (j.is_discarded()) return std::nullopt;
  if (j.is_null()) return g;
  if (j.is_array()) return list(j, g.permissions) ? std::optional(g) : std::nullopt;
  if (!j.is_object()) return std::nullopt;
  const json none;
  const auto field = [&](const char* name) -> const json& {
    const auto it = j.find(name);
    return it == j.end() ? none : *it;
  };
  if (!list(field("permissions"), g.permissions) || !list(field("roles"), g.roles) ||
      !list(field("scopes"), g.scopes)) {
    return std::nullopt;
  }
  return g;
}

std::string grants_to_json(const Grants& g) {
  if (g.roles.empty() && g.scopes.empty()) {
    return g.permissions.empty() ? "null" : json(g.permissions).dump();
  }
  return json{{"permissions", g.permissions}, {"roles", g.roles}, {"scopes", g.scopes}}.dump();
}

// Collects every problem of a body instead of stopping at the first.
class BodyReader {
 public:
  BodyReader(const json& body, std::vector<FieldError>& errors) : body_(body), errors_(errors) {}

  // The first of `names` present (aliases), or null.
  const json* find(std::initializer_list<const char*> names) const {
    for (const char* n : names) {
      const auto it = body_.find(n);
      if (it != body_.end() && !it->is_null()) return &*it;
    }
    return nullptr;
  }

  std::string text(std::initializer_list<const char*> names, std::size_t max, bool required) {
    const json* v = find(names);
    const char* field = *names.begin();
    if (!v) {
      if (required) fail(field, "is required");
      return {};
    }
    if (!v->is_string()) return fail(field, "expected a string"), std::string();
    std::string s = v->get<std::string>();
    if (required && s.empty()) fail(field, "must not be empty");
    if (s.size() > max) fail(field, "must be at most " + std::to_string(max) + " characters");
    return s;
  }

  std::vector<std::string> list(const char* name) {
    std::vector<std::string> out;
    const json* v = find({name});
    if (!v) return out;
    if (!v->is_array()) return fail(name, "expected a list of strings"), out;
    if (v->size() > kMaxListItems) {
      return fail(name, "at most " + std::to_string(kMaxListItems) + " items"), out;
    }
    for (const auto& item : *v) {
      if (!item.is_string() || item.get<std::string>().empty() ||
          item.get<std::string>().size() > kMaxIdLength) {
        return fail(name, "items must be strings of 1 to 128 characters"), out;
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  std::optional<std::uint32_t> limit(const char* name) {
    const json* v = find({name});
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || v->get<std::int64_t>() < 1 ||
        v->get<std::uint64_t>() > kMaxRateLimit) {
      return fail(name, "expected an integer from 1 to " + std::to_string(kMaxRateLimit)),
             std::nullopt;
    }
    return static_cast<std::uint32_t>(v->get<std::uint64_t>());
  }

  void fail(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }

 private:
  const json& body_;
  std::vector<FieldError>& errors_;
};

constexpr std::array<std::string_view, 13> kKnownFields = {"user_id",
                                                           "owner",
                                                           "tenant_id",
                                                           "tenant",
                                                           "name",
                                                           "permissions",
                                                           "roles",
                                                           "scopes",
                                                           "rate_limit_per_minute",
                                                           "rate_limit_per_hour",
                                                           "expires_at",
                                                           "is_active",
                                                           "enabled"};

}  // namespace

std::variant<persistence::ApiKeyRow, std::vector<FieldError>> api_key_row_from_body(
    const json& body, SystemTime now) {
  std::vector<FieldError> errors;
  if (!body.is_object()) return std::vector<FieldError>{{"body", "expected a JSON object"}};
  BodyReader rd(body, errors);
  for (const auto& [key, value] : body.items()) {
    if (std::find(kKnownFields.begin(), kKnownFields.end(), key) == kKnownFields.end()) {
      rd.fail(key, "unknown field");
    }
  }
  persistence::ApiKeyRow row;
  row.user_id = rd.text({"user_id", "owner"}, kMaxIdLength, true);
  row.tenant_id = rd.text({"tenant_id", "tenant"}, kMaxIdLength, false);
  row.name = rd.text({"name"}, kMaxNameLength, false);
  Grants grants;
  grants.permissions = rd.list("permissions");
  grants.roles = rd.list("roles");
  grants.scopes = rd.list("scopes");
  row.permissions_json = grants_to_json(grants);
  row.rate_limit_per_minute = rd.limit("rate_limit_per_minute");
  row.rate_limit_per_hour = rd.limit("rate_limit_per_hour");
  if (const json* v = rd.find({"expires_at"})) {
    std::optional<SystemTime> at;
    if (v->is_string()) {
      at = auth::parse_timestamp(v->get<std::string>());
    } else if (v->is_number_unsigned()) {
      at = auth::parse_timestamp(std::to_string(v->get<std::uint64_t>()));
    }
    if (!at) {
      rd.fail("expires_at", "expected an ISO 8601 time (2030-01-01T00:00:00Z) or epoch seconds");
    } else if (*at <= now) {
      rd.fail("expires_at", "must be in the future");
    } else {
      row.expires_at = at;
    }
  }
  if (const json* v = rd.find({"is_active", "enabled"})) {
    if (v->is_boolean()) {
      row.is_active = v->get<bool>();
    } else {
      rd.fail("is_active", "expected true or false");
    }
  }
  if (!errors.empty()) return errors;
  return row;
}

std::optional<auth::ApiKeyRecord> record_from_row(const persistence::ApiKeyRow& row) {
  auto grants = grants_from_json(row.permissions_json);
  if (!grants) return std::nullopt;
  auth::ApiKeyRecord r;
  r.key_hash = row.api_key_hash;
  r.user_id = row.user_id;
  r.tenant_id = row.tenant_id;
  r.name = row.name;
  r.permissions = std::move(grants->permissions);
  r.roles = std::move(grants->roles);
  r.scopes = std::move(grants->scopes);
  r.expires_at = row.expires_at;
  r.enabled = row.is_active;
  r.rate_limit_per_minute = row.rate_limit_per_minute;
  r.rate_limit_per_hour = row.rate_limit_per_hour;
  return r;
}

json api_key_row_to_json(const persistence::ApiKeyRow& row) {
  const auto grants = grants_from_json(row.permissions_json).value_or(Grants{});
  const auto text_or_null = [](const std::string& s) { return s.empty() ? json() : json(s); };
  const auto limit = [](const std::optional<std::uint32_t>& v) { return v ? json(*v) : json(); };
  return {{"id", row.id},
          {"user_id", row.user_id},
          {"tenant_id", text_or_null(row.tenant_id)},
          {"name", row.name},
          {"permissions", grants.permissions},
          {"roles", grants.roles},
          {"scopes", grants.scopes},
          {"rate_limit_per_minute", limit(row.rate_limit_per_minute)},
          {"rate_limit_per_hour", limit(row.rate_limit_per_hour)},
          {"is_active", row.is_active},
          {"expires_at", text_or_null(row.expires_at_text)},
          {"created_by", text_or_null(row.created_by)},
          {"created_at", row.created_at},
          {"updated_at", text_or_null(row.updated_at)},
          {"last_used_at", text_or_null(row.last_used_at)}};
}

}  // namespace gatewayd::admin
