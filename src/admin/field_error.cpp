#include "admin/field_error.hpp"

namespace gatewayd::admin {

FieldError split_field_message(std::string_view text, std::string_view fallback_field) {
  constexpr std::string_view kUnknown = "unknown field '";
  if (text.starts_with(kUnknown)) {
    const auto end = text.find('\'', kUnknown.size());
    if (end != std::string_view::npos) {
      return {std::string(text.substr(kUnknown.size(), end - kUnknown.size())), "unknown field"};
    }
  }
  const auto colon = text.find(": ");
  // Field names are single tokens ("max_requests", "retry.count", "headers.X-Id").
  if (colon != std::string_view::npos && colon > 0 &&
      text.substr(0, colon).find(' ') == std::string_view::npos) {
    return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 2))};
  }
  return {std::string(fallback_field), std::string(text)};
}

}  // namespace gatewayd::admin
