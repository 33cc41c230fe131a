#include "admin/rate_limit_rule_json.hpp"

#include <stdexcept>

namespace gatewayd::admin {

using nlohmann::json;

std::variant<ratelimit::RateLimitRuleSpec, FieldError> spec_from_body(const json& body) {
  try {
    return ratelimit::rule_spec_from_json(body);
  } catch (const std::invalid_argument& e) {
    return split_field_message(e.what(), "rule");
  }
}

std::variant<ratelimit::RateLimitRuleSpec, FieldError> spec_from_row(
    const persistence::RateLimitRuleRow& row) {
  ratelimit::RateLimitRuleSpec spec;
  spec.rule_name = row.rule_name;
  const auto type = ratelimit::parse_limit_type(row.limit_type);
  if (!type) return FieldError{"limit_type", "unknown limit type '" + row.limit_type + "'"};
  spec.limit_type = *type;
  spec.path_pattern = row.path_pattern;
  spec.max_requests = row.max_requests;
  spec.window_seconds = row.window_seconds;
  spec.burst = row.burst;
  spec.is_active = row.is_active;
  if (auto error = ratelimit::validate_rule_spec(spec)) return split_field_message(*error, "rule");
  return spec;
}

persistence::RateLimitRuleRow row_from_spec(const ratelimit::RateLimitRuleSpec& spec) {
  persistence::RateLimitRuleRow row;
  row.rule_name = spec.rule_name;
  row.limit_type = std::string(ratelimit::limit_type_name(spec.limit_type));
  row.path_pattern = spec.path_pattern;
  row.max_requests = spec.max_requests;
  row.window_seconds = spec.window_seconds;
  row.burst = spec.burst;
  row.is_active = spec.is_active;
  return row;
}

json rule_row_to_json(const persistence::RateLimitRuleRow& row) {
  return {{"id", row.id},
          {"rule_name", row.rule_name},
          {"limit_type", row.limit_type},
          {"path_pattern", row.path_pattern},
          {"max_requests", row.max_requests},
          {"window_seconds", row.window_seconds},
          {"burst", row.burst ? json(*row.burst) : json(nullptr)},
          {"is_active", row.is_active},
          {"created_at", row.created_at},
          {"updated_at", row.updated_at}};
}

}  // namespace gatewayd::admin
