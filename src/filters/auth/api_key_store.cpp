#include "filters/auth/api_key_store.hpp"

#include <charconv>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "filters/auth/key_loader.hpp"

namespace gatewayd::auth {
namespace {

constexpr std::string_view kKeyPrefix = "gw_";

bool parse_digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string entry_where(std::string_view source, std::size_t index) {
  return std::string(source) + " api_keys[" + std::to_string(index) + "]";
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& where,
                                     const char* field) {
  std::vector<std::string> out;
  if (!node || node.IsNull()) return out;
  if (node.IsScalar()) {
    // "a, b" as the MySQL column stores it.
    std::string_view s = node.Scalar();
    while (!s.empty()) {
      auto comma = s.find(',');
      auto item = s.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
      s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    return out;
  }
  if (!node.IsSequence()) throw std::runtime_error(where + ": " + field + " must be a list");
  for (const auto& item : node) {
    if (!item.IsScalar())
      throw std::runtime_error(where + ": " + field + " entries must be strings");
    out.push_back(item.Scalar());
  }
  return out;
}

ApiKeyRecord parse_entry(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) throw std::runtime_error(where + ": expected a mapping");
  for (const char* clear : {"key", "api_key"}) {
    if (node[clear]) {
      throw std::runtime_error(where + ": '" + clear +
                               "' holds a clear key; store only key_hash: \"sha256:<hex>\"");
    }
  }
  ApiKeyRecord r;
  const YAML::Node hash = node["key_hash"] ? node["key_hash"] : node["api_key_hash"];
  if (!hash || !hash.IsScalar()) throw std::runtime_error(where + ": key_hash is required");
  auto normalized = normalize_key_hash(hash.Scalar());
  if (!normalized) {
    throw std::runtime_error(where + ": key_hash must be \"sha256:\" and 64 hex digits");
  }
  r.key_hash = *normalized;
  auto scalar = [&](const char* field) -> std::string {
    const YAML::Node v = node[field];
    if (!v || v.IsNull()) return {};
    if (!v.IsScalar()) throw std::runtime_error(where + ": " + field + " must be a string");
    return v.Scalar();
  };
  r.user_id = scalar("user_id");
  if (r.user_id.empty()) r.user_id = scalar("owner");
  if (r.user_id.empty()) throw std::runtime_error(where + ": user_id (the owner) is required");
  r.tenant_id = scalar("tenant_id");
  r.name = scalar("name");
  r.roles = string_list(node["roles"], where, "roles");
  r.permissions = string_list(node["permissions"], where, "permissions");
  r.scopes = string_list(node["scopes"], where, "scopes");
  if (std::string exp = scalar("expires_at"); !exp.empty()) {
    r.expires_at = parse_timestamp(exp);
    if (!r.expires_at) throw std::runtime_error(where + ": expires_at is not a date/time");
  }
  const YAML::Node enabled = node["enabled"] ? node["enabled"] : node["is_active"];
  if (enabled && !enabled.IsNull()) {
    try {
      r.enabled = enabled.as<bool>();
    } catch (const YAML::Exception&) {
      throw std::runtime_error(where + ": enabled must be true or false");
    }
  }
  for (auto [field, target] : {std::pair{"rate_limit_per_minute", &r.rate_limit_per_minute},
                               std::pair{"rate_limit_per_hour", &r.rate_limit_per_hour}}) {
    const YAML::Node v = node[field];
    if (!v || v.IsNull()) continue;
    try {
      *target = v.as<std::uint32_t>();
    } catch (const YAML::Exception&) {
      throw std::runtime_error(where + ": " + field + " must be a non-negative integer");
    }
  }
  return r;
}

}  // namespace

std::string_view api_key_error_name(ApiKeyError error) noexcept {
  switch (error) {
    case ApiKeyError::kMalformed:
      return "malformed";
    case ApiKeyError::kUnknown:
      return "unknown";
    case ApiKeyError::kExpired:
      return "expired";
    case ApiKeyError::kDisabled:
      return "disabled";
  }
  return "unknown";
}

std::string_view ApiKeyResult::message() const noexcept {
  switch (error_) {
    case ApiKeyError::kMalformed:
      return "API key is malformed";
    case ApiKeyError::kUnknown:
      return "API key is not valid";
    case ApiKeyError::kExpired:
      return "API key expired";
    case ApiKeyError::kDisabled:
      return "API key is disabled";
  }
  return "API key is not valid";
}

GeneratedApiKey generate_api_key() {
  GeneratedApiKey g;
  g.key = std::string(kKeyPrefix) + base64url_encode(random_bytes(32));
  g.hash_hex = to_hex(sha256(g.key));
  return g;
}

std::optional<std::string> normalize_key_hash(std::string_view text) {
  if (text.size() > 7 && (text.substr(0, 7) == "sha256:" || text.substr(0, 7) == "SHA256:")) {
    text.remove_prefix(7);
  }
  auto digest = sha256_from_hex(text);
  if (!digest) return std::nullopt;
  return to_hex(*digest);
}

std::optional<SystemTime> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  if (s.empty()) return std::nullopt;
  if (s.find_first_not_of("0123456789") == std::string_view::npos) {
    long long secs = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (ec != std::errc() || secs > 9'000'000'000LL) return std::nullopt;
    return SystemTime(seconds(secs));
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !parse_digits(s.substr(0, 4), y) ||
      !parse_digits(s.substr(5, 2), mo) || !parse_digits(s.substr(8, 2), d)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  std::string_view rest = s.substr(10);
  seconds offset{0};
  if (!rest.empty()) {
    if ((rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ') || rest.size() < 9 || rest[3] != ':' ||
        rest[6] != ':' || !parse_digits(rest.substr(1, 2), h) ||
        !parse_digits(rest.substr(4, 2), mi) || !parse_digits(rest.substr(7, 2), sec) || h > 23 ||
        mi > 59 || sec > 60) {
      return std::nullopt;
    }
    rest.remove_prefix(9);
    if (!rest.empty() && rest[0] == '.') {  // fractions are dropped
      rest.remove_prefix(1);
      std::size_t n = 0;
      while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
      if (n == 0) return std::nullopt;
      rest.remove_prefix(n);
    }
    const bool utc = rest.empty() || rest == "Z" || rest == "z";
    if (!utc) {
      int oh = 0, om = 0;
      if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' ||
          !parse_digits(rest.substr(1, 2), oh) || !parse_digits(rest.substr(4, 2), om)) {
        return std::nullopt;
      }
      offset = hours(oh) + minutes(om);
      if (rest[0] == '-') offset = -offset;
    }
  }
  return SystemTime(sys_days(ymd).time_since_epoch() + hours(h) + minutes(mi) + seconds(sec) -
                    offset);
}

std::vector<ApiKeyRecord> ApiKeyStore::parse_document(std::string_view text,
                                                      std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(std::string(source) + ": not valid YAML/JSON (line " +
                             std::to_string(e.mark.line + 1) + ")");
  }
  if (!root || root.IsNull()) return {};
  YAML::Node list = root.IsMap() ? root["api_keys"] : root;
  if (!list || list.IsNull()) return {};
  if (!list.IsSequence()) {
    throw std::runtime_error(std::string(source) + ": api_keys must be a list");
  }
  std::vector<ApiKeyRecord> out;
  std::size_t index = 0;
  for (const auto& entry : list) {
    out.push_back(parse_entry(entry, entry_where(source, index)));
    ++index;
  }
  return out;
}

std::vector<ApiKeyRecord> ApiKeyStore::parse_file(const std::string& path) {
  return parse_document(read_small_file(path, 16 << 20), path);
}

ApiKeyStore::ApiKeyStore() : table_(std::make_shared<const Table>()) {}

void ApiKeyStore::set_file_records(std::vector<ApiKeyRecord> records) {
  for (auto& r : records) {
    auto normalized = normalize_key_hash(r.key_hash);
    if (!normalized) throw std::invalid_argument("API key record with an invalid key_hash");
    r.key_hash = *normalized;
  }
  std::lock_guard lock(mu_);
  file_records_ = std::move(records);
  publish();
}

std::size_t ApiKeyStore::set_database_records(std::vector<ApiKeyRecord> records) {
  std::size_t skipped = 0;
  std::vector<ApiKeyRecord> valid;
  valid.reserve(records.size());
  for (auto& r : records) {
    auto normalized = normalize_key_hash(r.key_hash);
    if (!normalized) {
      ++skipped;
      continue;
    }
    r.key_hash = *normalized;
    valid.push_back(std::move(r));
  }
  std::lock_guard lock(mu_);
  db_records_ = std::move(valid);
  publish();
  return skipped;
}

void ApiKeyStore::publish() {
  auto table = std::make_shared<Table>();
  // Database rows last so they replace file entries with the same hash.
  for (const auto* list : {&file_records_, &db_records_}) {
    for (const auto& r : *list) {
      (*table)[*sha256_from_hex(r.key_hash)] = std::make_shared<const ApiKeyRecord>(r);
    }
  }
  table_.store(std::move(table));
}

ApiKeyResult ApiKeyStore::lookup(std::string_view presented_key, SystemTime now) const {
  if (presented_key.empty() || presented_key.size() > kMaxKeyLength) {
    return ApiKeyResult::failure(ApiKeyError::kMalformed);
  }
  for (char c : presented_key) {
    if (c <= 0x20 || c >= 0x7F) return ApiKeyResult::failure(ApiKeyError::kMalformed);
  }
  // Hash first: the table is keyed by digests, so lookup timing depends only on the digest of
  // what the client sent, never on how close it is to a stored key.
  const auto table = table_.load();
  auto it = table->find(sha256(presented_key));
  if (it == table->end()) return ApiKeyResult::failure(ApiKeyError::kUnknown);
  const auto& record = it->second;
  if (!record->enabled) return ApiKeyResult::failure(ApiKeyError::kDisabled);
  if (record->expires_at && now >= *record->expires_at) {
    return ApiKeyResult::failure(ApiKeyError::kExpired);
  }
  Principal p;
  p.auth_method = AuthMethod::kApiKey;
  p.subject = record->user_id;
  p.tenant_id = record->tenant_id;
  p.roles = record->roles;
  p.permissions = record->permissions;
  p.scopes = record->scopes;
  p.expires_at = record->expires_at;
  // A stable, non-secret handle for logs and per-key rate limits.
  p.key_id = record->key_hash.substr(0, 16);
  p.rate_limit_per_minute = record->rate_limit_per_minute;
  p.rate_limit_per_hour = record->rate_limit_per_hour;
  return ApiKeyResult::success(std::move(p), record);
}

std::size_t ApiKeyStore::size() const noexcept {
  return table_.load()->size();
}

}  // namespace gatewayd::auth
