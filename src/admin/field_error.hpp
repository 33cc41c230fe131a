#pragma once
// A validation problem tied to one field of a request body: the admin API answers 400 with
// {"fields": {"<field>": "<message>"}} in the error details.
#include <string>
#include <string_view>

namespace gatewayd::admin {

struct FieldError {
  std::string field;  // "timeout", "retry.backoff_max", ...; a general name when none applies
  std::string message;
};

// Splits "field: message", the shape of the validators' messages; anything else is reported
// whole under `fallback_field`. "unknown field 'x'" names x.
FieldError split_field_message(std::string_view text, std::string_view fallback_field);

}  // namespace gatewayd::admin
