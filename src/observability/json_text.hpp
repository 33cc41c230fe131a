#pragma once
// JSON string escaping for log lines built from client input (targets, user agents): invalid
// UTF-8 becomes U+FFFD so every line stays parseable by strict JSON readers.
#include <string>
#include <string_view>

namespace gatewayd::logging {

// Appends `s` as the inside of a JSON string (no quotes).
void append_json_text(std::string& out, std::string_view s);

// Appends `s` for a text-format line: control characters escaped (\n, \t, \u0001), so one call
// is always one physical line.
void append_plain_text(std::string& out, std::string_view s);

// A key=value token: bare when it is non-empty printable ASCII without spaces or quotes,
// otherwise a quoted JSON string; "-" when empty.
void append_text_value(std::string& out, std::string_view s);

}  // namespace gatewayd::logging
