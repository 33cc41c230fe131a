#include "config/setting_value.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

#include "gatewayd/settings.hpp"

namespace gatewayd::setting_value {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e18) {
    return std::to_string(static_cast<long long>(v));
  }
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

std::vector<std::string_view> enum_values(std::string_view allowed) {
  std::vector<std::string_view> out;
  while (!allowed.empty()) {
    const auto bar = allowed.find('|');
    out.push_back(allowed.substr(0, bar));
    if (bar == std::string_view::npos) break;
    allowed.remove_prefix(bar + 1);
  }
  return out;
}

std::string range_text(const SettingSpec& spec) {
  if (spec.min == 0 && spec.max == 0) return {};
  return " " + format_number(spec.min) + "-" + format_number(spec.max);
}

}  // namespace

std::optional<bool> parse_bool(std::string_view text) {
  text = trim(text);
  for (std::string_view t : {"true", "1", "yes", "on"}) {
    if (iequals(text, t)) return true;
  }
  for (std::string_view f : {"false", "0", "no", "off"}) {
    if (iequals(text, f)) return false;
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::int64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc{} || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> parse_duration_ms(std::string_view text, std::string_view unit) {
  text = trim(text);
  std::size_t n = 0;
  while (n < text.size() && ((text[n] >= '0' && text[n] <= '9') || text[n] == '.')) ++n;
  const auto number = parse_double(text.substr(0, n));
  if (!number || *number < 0) return std::nullopt;
  std::string_view suffix = trim(text.substr(n));
  if (suffix.empty()) suffix = unit;
  if (suffix == "ms") return *number;
  if (suffix == "s") return *number * 1000.0;
  if (suffix == "m") return *number * 60'000.0;
  if (suffix == "h") return *number * 3'600'000.0;
  return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const auto comma = text.find(',');
    const auto item = trim(text.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool empty_means_unset(const SettingSpec& spec) noexcept {
  return spec.type != SettingType::kString && spec.type != SettingType::kList;
}

std::string describe_type(const SettingSpec& spec) {
  switch (spec.type) {
    case SettingType::kString:
      return "string";
    case SettingType::kBool:
      return "bool (true/false, 1/0, yes/no, on/off)";
    case SettingType::kInt:
      return "integer" + range_text(spec);
    case SettingType::kUint16:
      return "port" + range_text(spec);
    case SettingType::kDouble:
      return "number" + range_text(spec);
    case SettingType::kDuration:
      return "duration in " + std::string(spec.unit) + range_text(spec) +
             " (or with a unit: 250ms, 5s, 2m, 1h)";
    case SettingType::kList:
      return "comma-separated list";
    case SettingType::kEnum: {
      std::string out = "one of:";
      bool first = true;
      for (auto v : enum_values(spec.allowed)) {
        out += first ? " " : ", ";
        out += v;
        first = false;
      }
      return out;
    }
  }
  return "string";
}

std::string canonical(const SettingSpec& spec, std::string_view value, std::string_view source) {
  const auto bad = [&]() -> SettingsError {
    std::string msg = std::string(spec.name) + ": invalid value";
    if (!spec.secret) msg += " '" + std::string(value) + "'";
    msg += " from " + std::string(source) + ": expected " + describe_type(spec);
    return SettingsError(msg);
  };
  const bool bounded = !(spec.min == 0 && spec.max == 0);
  switch (spec.type) {
    case SettingType::kString:
    case SettingType::kList:
      if (value.find('\0') != std::string_view::npos) throw bad();
      return std::string(value);
    case SettingType::kBool: {
      const auto b = parse_bool(value);
      if (!b) throw bad();
      return *b ? "true" : "false";
    }
    case SettingType::kInt:
    case SettingType::kUint16: {
      const auto v = parse_int(value);
      if (!v) throw bad();
      if ((bounded || spec.type == SettingType::kUint16) &&
          (static_cast<double>(*v) < spec.min || static_cast<double>(*v) > spec.max)) {
        throw bad();
      }
      return std::to_string(*v);
    }
    case SettingType::kDouble: {
      const auto v = parse_double(value);
      if (!v) throw bad();
      if (bounded && (*v < spec.min || *v > spec.max)) throw bad();
      return std::string(trim(value));
    }
    case SettingType::kDuration: {
      const auto ms = parse_duration_ms(value, spec.unit);
      if (!ms) throw bad();
      const double in_unit = spec.unit == "s" ? *ms / 1000.0 : *ms;
      if (bounded && (in_unit < spec.min || in_unit > spec.max)) throw bad();
      return std::string(trim(value));
    }
    case SettingType::kEnum: {
      for (auto v : enum_values(spec.allowed)) {
        if (iequals(trim(value), v)) return std::string(v);
      }
      throw bad();
    }
  }
  throw bad();
}

}  // namespace gatewayd::setting_value
