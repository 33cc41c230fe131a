#pragma once
// API keys between admin API bodies, rows of `api_keys` and the ApiKeyStore's records. Nothing
// here ever sees a clear key except the caller that generates one; views carry no hash either.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/field_error.hpp"
#include "filters/auth/api_key_store.hpp"
#include "persistence/api_key_repository.hpp"

namespace gatewayd::admin {

// Validates a create body: user_id (or owner), tenant_id (or tenant), name, permissions, roles,
// scopes, rate_limit_per_minute, rate_limit_per_hour, expires_at (ISO 8601 or epoch seconds,
// in the future), is_active. Returns the row without hash, or every problem found.
std::variant<persistence::ApiKeyRow, std::vector<FieldError>> api_key_row_from_body(
    const nlohmann::json& body, SystemTime now);

// The record for ApiKeyStore; nullopt when the permissions column holds something unreadable.
std::optional<auth::ApiKeyRecord> record_from_row(const persistence::ApiKeyRow& row);

// The admin view, without the hash.
nlohmann::json api_key_row_to_json(const persistence::ApiKeyRow& row);

}  // namespace gatewayd::admin
