#include "filters/rate_limit/rule_file.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "gatewayd/settings.hpp"

namespace gatewayd::ratelimit {

namespace {
constexpr std::uintmax_t kMaxFileBytes = 4 * 1024 * 1024;
}  // namespace

std::string rule_file_path(const Settings& settings) {
  const std::string file = settings.get("RATE_LIMIT_RULES_FILE");
  if (file.empty()) return {};
  return (std::filesystem::path(settings.config_dir) / file).string();
}

std::vector<RateLimitRuleSpec> parse_rule_file(std::string_view text, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(std::string(source) + ": line " + std::to_string(e.mark.line + 1) +
                                ": " + e.msg);
  }
  if (!root || root.IsNull()) return {};
  if (!root.IsMap()) {
    throw std::invalid_argument(std::string(source) + ": expected a mapping with a 'rules' list");
  }
  YAML::Node list;
  bool has_list = false;
  std::string list_name = "rules";
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "rules" || key == "rate_limit_rules") {
      if (has_list) {
        throw std::invalid_argument(std::string(source) +
                                    ": give either 'rules' or 'rate_limit_rules', not both");
      }
      list = kv.second;
      list_name = key;
      has_list = true;
    } else {
      throw std::invalid_argument(std::string(source) + ": unknown top-level field '" + key +
                                  "' (expected 'rules')");
    }
  }
  return parse_rule_specs(list, source, list_name);
}

std::optional<std::vector<RateLimitRuleSpec>> load_rule_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (ec) throw std::invalid_argument(path + ": " + ec.message());
  if (!std::filesystem::is_regular_file(status)) {
    throw std::invalid_argument(path + ": not a regular file");
  }
  if (std::filesystem::file_size(path, ec) > kMaxFileBytes) {
    throw std::invalid_argument(path + ": larger than 4 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_rule_file(text.str(), path);
}

std::vector<RateLimitRuleSpec> load_rule_file(const Settings& settings) {
  const std::string path = rule_file_path(settings);
  if (path.empty()) return {};
  auto specs = load_rule_file(path);
  return specs ? std::move(*specs) : std::vector<RateLimitRuleSpec>{};
}

}  // namespace gatewayd::ratelimit
