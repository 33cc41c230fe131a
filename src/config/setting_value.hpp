#pragma once
// Parsing and canonical forms of setting values, shared by the loader and Settings' getters.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings_table.hpp"

namespace gatewayd::setting_value {

std::optional<bool> parse_bool(std::string_view text);
std::optional<std::int64_t> parse_int(std::string_view text);
std::optional<double> parse_double(std::string_view text);
// Milliseconds (fractional); `unit` is the unit of a bare number: "ms" or "s".
std::optional<double> parse_duration_ms(std::string_view text, std::string_view unit);
std::vector<std::string> split_list(std::string_view text);

// Validates `value` for `spec` and returns its canonical text (bools "true"/"false", enums in
// their declared spelling, numbers trimmed). Throws SettingsError naming the variable and
// `source`; secret values are never quoted.
std::string canonical(const SettingSpec& spec, std::string_view value, std::string_view source);

// True when an empty value means "not set" for this type (numbers, bools, enums, durations).
bool empty_means_unset(const SettingSpec& spec) noexcept;

// Human description of the accepted values: "integer 0-1024", "one of: json, text", ...
std::string describe_type(const SettingSpec& spec);

}  // namespace gatewayd::setting_value
