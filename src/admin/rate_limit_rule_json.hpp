#pragma once
// Rate-limit rules between admin API bodies, the rate limiter's RateLimitRuleSpec and rows of
// `rate_limit_rules`. Validation is the rate limiter's own (rule_spec_from_json), so a rule
// accepted here is a rule the limiter compiles.
#include <variant>

#include <nlohmann/json.hpp>

#include "admin/field_error.hpp"
#include "filters/rate_limit/rate_limit_rule.hpp"
#include "persistence/rate_limit_rule_store.hpp"

namespace gatewayd::admin {

std::variant<ratelimit::RateLimitRuleSpec, FieldError> spec_from_body(const nlohmann::json& body);
std::variant<ratelimit::RateLimitRuleSpec, FieldError> spec_from_row(
    const persistence::RateLimitRuleRow& row);

// A row for the spec; id and timestamps are left to the caller and the database.
persistence::RateLimitRuleRow row_from_spec(const ratelimit::RateLimitRuleSpec& spec);

// The admin view: the rule fields plus id, created_at, updated_at. It is also a valid body, so
// a client may send back what it read.
nlohmann::json rule_row_to_json(const persistence::RateLimitRuleRow& row);

}  // namespace gatewayd::admin
