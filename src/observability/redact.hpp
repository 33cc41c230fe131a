#pragma once
// Credentials sometimes travel in query strings (?api_key=, ?access_token=): the access log
// keeps the parameter names and replaces such values so no secret reaches a log file.
#include <string>
#include <string_view>

namespace gatewayd::logging {

// True for query parameter names that carry credentials (case-insensitive).
bool is_sensitive_parameter(std::string_view name) noexcept;

// Appends `target` to `out` with the values of sensitive query parameters replaced by
// "REDACTED". The path and every other parameter are kept byte for byte.
void append_redacted_target(std::string& out, std::string_view target);

}  // namespace gatewayd::logging
