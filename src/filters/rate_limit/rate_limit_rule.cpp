#include "filters/rate_limit/rate_limit_rule.hpp"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "gatewayd/config.hpp"

namespace gatewayd::ratelimit {

namespace {

constexpr std::size_t kMaxRuleName = 64;
constexpr std::uint32_t kMaxWindowSeconds = 31 * 24 * 3600;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool valid_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' ||
         c == ':' || c == '/';
}

}  // namespace

std::string_view limit_type_name(LimitType type) noexcept {
  switch (type) {
    case LimitType::kPerUser:
      return "per_user";
    case LimitType::kPerIp:
      return "per_ip";
    case LimitType::kPerApiKey:
      return "per_api_key";
    case LimitType::kPerEndpoint:
      return "per_endpoint";
    case LimitType::kGlobal:
      return "global";
    case LimitType::kPerCaller:
      return "per_caller";
  }
  return "per_ip";
}

std::optional<LimitType> parse_limit_type(std::string_view text) noexcept {
  const std::string t = lower(text);
  if (t == "per_user") return LimitType::kPerUser;
  if (t == "per_ip") return LimitType::kPerIp;
  if (t == "per_api_key") return LimitType::kPerApiKey;
  if (t == "per_endpoint") return LimitType::kPerEndpoint;
  if (t == "global") return LimitType::kGlobal;
  return std::nullopt;
}

std::optional<std::string> validate_rule_spec(const RateLimitRuleSpec& spec) {
  if (spec.rule_name.empty() || spec.rule_name.size() > kMaxRuleName ||
      !std::all_of(spec.rule_name.begin(), spec.rule_name.end(), valid_name_char)) {
    return "rule_name: 1 to 64 characters from [A-Za-z0-9_.:/-]";
  }
  if (spec.limit_type == LimitType::kPerCaller) return "limit_type: unknown limit type";
  if (spec.max_requests == 0) return "max_requests: must be at least 1";
  if (spec.window_seconds == 0 || spec.window_seconds > kMaxWindowSeconds) {
    return "window_seconds: must be between 1 and " + std::to_string(kMaxWindowSeconds);
  }
  if (spec.burst && *spec.burst == 0) return "burst: must be at least 1";
  if (!PathGlob::compile(spec.path_pattern)) {
    return "path_pattern: must start with '/' (or be empty for every path)";
  }
  return std::nullopt;
}

std::string window_type_name(std::uint32_t window_seconds) {
  switch (window_seconds) {
    case 1:
      return "second";
    case 60:
      return "minute";
    case 3600:
      return "hour";
    case 86400:
      return "day";
    default:
      return std::to_string(window_seconds) + "s";
  }
}

RateLimitRule compile_rule(const RateLimitRuleSpec& spec) {
  if (auto error = validate_rule_spec(spec)) throw std::invalid_argument(*error);
  RateLimitRule r;
  r.name = spec.rule_name;
  r.type = spec.limit_type;
  r.pattern = *PathGlob::compile(spec.path_pattern);
  r.limit = spec.max_requests;
  r.window_seconds = spec.window_seconds;
  r.bucket.capacity = static_cast<double>(spec.burst.value_or(spec.max_requests));
  r.bucket.refill_per_second =
      static_cast<double>(spec.max_requests) / static_cast<double>(spec.window_seconds);
  r.window_type = window_type_name(spec.window_seconds);
  r.route_path = "rule:" + spec.rule_name;
  return r;
}

RateLimitRule route_rule(const RouteConfig& route, std::uint32_t per_minute) {
  RateLimitRule r;
  r.name = route.name;
  r.type = LimitType::kPerCaller;
  r.limit = std::max<std::uint32_t>(per_minute, 1);
  r.window_seconds = 60;
  r.bucket.capacity = static_cast<double>(r.limit);
  r.bucket.refill_per_second = static_cast<double>(r.limit) / 60.0;
  r.window_type = "minute";
  r.route_path = route.path;
  return r;
}

RateLimitRule default_rule(std::uint32_t per_minute) {
  RateLimitRule r;
  r.name = "default";
  r.type = LimitType::kPerCaller;
  r.limit = std::max<std::uint32_t>(per_minute, 1);
  r.window_seconds = 60;
  r.bucket.capacity = static_cast<double>(r.limit);
  r.bucket.refill_per_second = static_cast<double>(r.limit) / 60.0;
  r.window_type = "minute";
  r.route_path = "*";
  return r;
}

RateLimitRule api_key_rule(std::uint32_t limit, std::uint32_t window_seconds) {
  RateLimitRule r;
  window_seconds = std::max<std::uint32_t>(window_seconds, 1);
  r.window_type = window_type_name(window_seconds);
  r.name = "api_key_per_" + r.window_type;
  r.type = LimitType::kPerApiKey;
  r.limit = std::max<std::uint32_t>(limit, 1);
  r.window_seconds = window_seconds;
  r.bucket.capacity = static_cast<double>(r.limit);
  r.bucket.refill_per_second = static_cast<double>(r.limit) / window_seconds;
  r.route_path = "api_key";
  return r;
}

std::vector<RateLimitRuleSpec> parse_rule_specs(const YAML::Node& list, std::string_view source,
                                                std::string_view list_name) {
  std::vector<RateLimitRuleSpec> out;
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) {
    throw std::invalid_argument(std::string(source) + ": " + std::string(list_name) +
                                " must be a list");
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    std::string where =
        std::string(source) + " " + std::string(list_name) + "[" + std::to_string(i) + "]";
    if (item.Mark().line >= 0) where += " (line " + std::to_string(item.Mark().line + 1) + ")";
    if (!item.IsMap()) throw std::invalid_argument(where + ": must be a mapping");
    RateLimitRuleSpec spec;
    bool has_name = false, has_type = false, has_max = false;
    for (const auto& kv : item) {
      std::string key;
      try {
        key = kv.first.as<std::string>();
      } catch (const YAML::Exception&) {
        throw std::invalid_argument(where + ": field names must be strings");
      }
      const YAML::Node& v = kv.second;
      // The expected form, named in the error when a value does not convert.
      const char* expected = "a non-negative integer";
      try {
        if (key == "rule_name" || key == "name") {
          expected = "a string";
          if (!v.IsScalar()) throw std::invalid_argument("rule_name: expected a string");
          spec.rule_name = v.as<std::string>();
          has_name = true;
        } else if (key == "limit_type") {
          const auto type =
              v.IsScalar() ? parse_limit_type(v.as<std::string>()) : std::optional<LimitType>();
          if (!type) {
            throw std::invalid_argument(
                "limit_type: one of per_user, per_ip, per_api_key, per_endpoint, global");
          }
          spec.limit_type = *type;
          has_type = true;
        } else if (key == "path_pattern") {
          expected = "a string";
          if (!v.IsNull() && !v.IsScalar()) {
            throw std::invalid_argument("path_pattern: expected a string");
          }
          spec.path_pattern = v.IsNull() ? std::string() : v.as<std::string>();
        } else if (key == "max_requests") {
          spec.max_requests = v.as<std::uint32_t>();
          has_max = true;
        } else if (key == "window_seconds") {
          spec.window_seconds = v.as<std::uint32_t>();
        } else if (key == "burst") {
          if (!v.IsNull()) spec.burst = v.as<std::uint32_t>();
        } else if (key == "is_active" || key == "enabled") {
          expected = "true or false";
          spec.is_active = v.as<bool>();
        } else {
          throw std::invalid_argument("unknown field '" + key + "'");
        }
      } catch (const YAML::Exception&) {
        throw std::invalid_argument(where + ": " + key + ": expected " + expected);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(where + ": " + e.what());
      }
    }
    if (!has_name) throw std::invalid_argument(where + ": rule_name: missing");
    if (!has_type) throw std::invalid_argument(where + ": limit_type: missing");
    if (!has_max) throw std::invalid_argument(where + ": max_requests: missing");
    if (auto error = validate_rule_spec(spec)) throw std::invalid_argument(where + ": " + *error);
    for (const auto& other : out) {
      if (other.rule_name == spec.rule_name) {
        throw std::invalid_argument(where + ": rule_name: duplicate '" + spec.rule_name + "'");
      }
    }
    out.push_back(std::move(spec));
  }
  return out;
}

RateLimitRuleSpec rule_spec_from_json(const nlohmann::json& object) {
  if (!object.is_object()) throw std::invalid_argument("rule: expected a JSON object");
  RateLimitRuleSpec spec;
  auto uint_field = [&](const char* name, std::uint32_t& out) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return false;
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > UINT32_MAX) {
      throw std::invalid_argument(std::string(name) + ": expected a non-negative integer");
    }
    out = it->get<std::uint32_t>();
    return true;
  };
  for (const auto& [key, value] : object.items()) {
    if (key == "rule_name" || key == "name") {
      if (!value.is_string()) throw std::invalid_argument("rule_name: expected a string");
      spec.rule_name = value.get<std::string>();
    } else if (key == "limit_type") {
      const auto type = value.is_string() ? parse_limit_type(value.get<std::string>())
                                          : std::optional<LimitType>();
      if (!type) {
        throw std::invalid_argument(
            "limit_type: one of per_user, per_ip, per_api_key, per_endpoint, global");
      }
      spec.limit_type = *type;
    } else if (key == "path_pattern") {
      if (!value.is_null() && !value.is_string()) {
        throw std::invalid_argument("path_pattern: expected a string");
      }
      spec.path_pattern = value.is_null() ? std::string() : value.get<std::string>();
    } else if (key == "is_active" || key == "enabled") {
      if (value.is_boolean()) {
        spec.is_active = value.get<bool>();
      } else if (value.is_number_integer()) {  // TINYINT(1) from MySQL
        spec.is_active = value.get<std::int64_t>() != 0;
      } else {
        throw std::invalid_argument("is_active: expected true or false");
      }
    } else if (key != "max_requests" && key != "window_seconds" && key != "burst" && key != "id" &&
               key != "created_at" && key != "updated_at") {
      throw std::invalid_argument("unknown field '" + key + "'");
    }
  }
  uint_field("max_requests", spec.max_requests);
  uint_field("window_seconds", spec.window_seconds);
  std::uint32_t burst = 0;
  if (uint_field("burst", burst)) spec.burst = burst;
  if (auto error = validate_rule_spec(spec)) throw std::invalid_argument(*error);
  return spec;
}

nlohmann::json rule_spec_to_json(const RateLimitRuleSpec& spec) {
  nlohmann::json j{{"rule_name", spec.rule_name},
                   {"limit_type", std::string(limit_type_name(spec.limit_type))},
                   {"path_pattern", spec.path_pattern},
                   {"max_requests", spec.max_requests},
                   {"window_seconds", spec.window_seconds},
                   {"is_active", spec.is_active}};
  j["burst"] = spec.burst ? nlohmann::json(*spec.burst) : nlohmann::json(nullptr);
  return j;
}

}  // namespace gatewayd::ratelimit
