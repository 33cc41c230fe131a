#include "filters/rate_limit/rule_table.hpp"

#include <algorithm>
#include <stdexcept>

namespace gatewayd::ratelimit {

std::vector<RateLimitRuleSpec> merge_rule_specs(const std::vector<RateLimitRuleSpec>& file,
                                                const std::vector<RateLimitRuleSpec>& table) {
  std::vector<RateLimitRuleSpec> out = table;
  for (const auto& spec : file) {
    const bool overridden = std::any_of(table.begin(), table.end(), [&](const auto& row) {
      return row.rule_name == spec.rule_name;
    });
    if (!overridden) out.push_back(spec);
  }
  return out;
}

std::shared_ptr<const RuleTable> RuleTable::build(const std::vector<RateLimitRuleSpec>& specs) {
  auto table = std::make_shared<RuleTable>();
  for (const auto& spec : specs) {
    if (!spec.is_active) continue;
    for (const auto& existing : table->rules_) {
      if (existing.name == spec.rule_name) {
        throw std::invalid_argument("rate limit rule '" + spec.rule_name + "' defined twice");
      }
    }
    try {
      table->rules_.push_back(compile_rule(spec));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("rate limit rule '" + spec.rule_name + "': " + e.what());
    }
    if (table->rules_.size() > kMaxRules) {
      throw std::invalid_argument("more than " + std::to_string(kMaxRules) +
                                  " active rate limit rules");
    }
  }
  return table;
}

void RuleTable::match(std::string_view path, std::vector<const RateLimitRule*>& out) const {
  for (const auto& rule : rules_) {
    if (rule.pattern.matches(path)) out.push_back(&rule);
  }
}

}  // namespace gatewayd::ratelimit
