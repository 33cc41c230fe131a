#pragma once
// The one declaration of every environment variable gatewayd reads. Loading, validation,
// .env.example and docs/CONFIGURATION.md are all derived from this table.
#include <cstdint>
#include <span>
#include <string_view>

namespace gatewayd {

enum class SettingType : std::uint8_t {
  kString,
  kBool,      // true/false, 1/0, yes/no, on/off (any case)
  kInt,       // integer within [min, max]
  kUint16,    // port-like integer within [min, max] (max <= 65535)
  kDouble,    // number within [min, max]
  kDuration,  // number in `unit` ("ms" or "s"), or with a suffix: 250ms, 5s, 2m, 1h
  kList,      // comma-separated; blanks around items ignored
  kEnum,      // one of `allowed` ("a|b|c"), case-insensitive, stored lower-case
};

struct SettingSpec {
  std::string_view name;
  std::string_view default_value;
  SettingType type = SettingType::kString;
  std::string_view group;
  std::string_view description;
  bool secret = false;
  std::string_view allowed = {};  // kEnum: "a|b|c"
  double min = 0;                 // kInt, kUint16, kDouble, kDuration (in `unit`)
  double max = 0;                 // idem; min == max == 0 means unbounded (kDouble, kInt)
  std::string_view unit = {};     // kDuration: "ms" or "s"
};

// Every variable, grouped, in documentation order.
std::span<const SettingSpec> settings_table() noexcept;

// nullptr when `name` is not a gatewayd variable.
const SettingSpec* find_setting(std::string_view name) noexcept;

// "string", "bool", "integer 1-65535", "one of: a, b", ... for docs and error messages.
std::string_view setting_type_name(SettingType type) noexcept;

}  // namespace gatewayd
