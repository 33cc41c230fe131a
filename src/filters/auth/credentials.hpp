#pragma once
// Finding credentials in request headers. Pure string work over header values, so the server
// can call it with whatever header representation it has.
#include <optional>
#include <string_view>

namespace gatewayd::auth {

inline constexpr std::string_view kDefaultApiKeyHeader = "X-API-Key";  // API_KEY_HEADER

// "Bearer <token>" (scheme case-insensitive, RFC 7235); the token without surrounding spaces.
std::optional<std::string_view> extract_bearer_token(std::string_view authorization) noexcept;

// The API key from the configured header's value (preferred) or "Authorization: ApiKey <key>".
// Pass an empty view for a header the request lacks.
std::optional<std::string_view> extract_api_key(std::string_view api_key_header_value,
                                                std::string_view authorization) noexcept;

}  // namespace gatewayd::auth
