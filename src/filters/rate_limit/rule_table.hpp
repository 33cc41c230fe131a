#pragma once
// The compiled, immutable set of rule-set rules (config file + rate_limit_rules table). A new
// table is built off the request path and published like a config reload; requests keep the
// table they started with.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "filters/rate_limit/rate_limit_rule.hpp"

namespace gatewayd::ratelimit {

// The rule set of the two sources: every table row, then the file rules whose rule_name no
// table row uses. The table wins on the same rule_name, also when its row is inactive (so a file
// rule can be switched off from the admin API without editing the file).
std::vector<RateLimitRuleSpec> merge_rule_specs(const std::vector<RateLimitRuleSpec>& file,
                                                const std::vector<RateLimitRuleSpec>& table);

class RuleTable {
 public:
  static constexpr std::size_t kMaxRules = 256;

  RuleTable() = default;
  // Active specs only; throws std::invalid_argument for an invalid spec, a duplicate name or more
  // than kMaxRules rules.
  static std::shared_ptr<const RuleTable> build(const std::vector<RateLimitRuleSpec>& specs);

  // Appends the rules whose path pattern matches `path`, in table order.
  void match(std::string_view path, std::vector<const RateLimitRule*>& out) const;

  const std::vector<RateLimitRule>& rules() const noexcept { return rules_; }
  bool empty() const noexcept { return rules_.empty(); }

 private:
  std::vector<RateLimitRule> rules_;
};

}  // namespace gatewayd::ratelimit
