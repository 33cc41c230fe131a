#pragma once
// The `rate_limit_rules` table, edited through the admin API and read by the rate limiter at
// start-up and after every change. Values are stored as given; the rule validation lives with
// the rate limiter (filters/rate_limit/rate_limit_rule.hpp). Blocking; call it off the loop.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "persistence/db_session.hpp"

namespace gatewayd::persistence {

struct RateLimitRuleRow {
  std::uint64_t id = 0;
  std::string rule_name;
  std::string limit_type;    // per_user | per_ip | per_endpoint | per_api_key | global
  std::string path_pattern;  // empty = every path (stored as NULL)
  std::uint32_t max_requests = 0;
  std::uint32_t window_seconds = 60;
  std::optional<std::uint32_t> burst;
  bool is_active = true;
  std::string created_at, updated_at;  // ISO 8601 UTC, filled when read
};

class RateLimitRuleStore {
 public:
  explicit RateLimitRuleStore(DbSession& db) : db_(db) {}

  MySqlResult<std::vector<RateLimitRuleRow>> list(bool active_only);
  MySqlResult<std::optional<RateLimitRuleRow>> find(std::uint64_t id);
  MySqlResult<std::optional<RateLimitRuleRow>> find_by_name(const std::string& rule_name);
  // Returns the new id; a rule_name clash fails with kMySqlDuplicateEntry.
  MySqlResult<std::uint64_t> insert(const RateLimitRuleRow& row);
  // Replaces every column of row.id; false when there is no such row.
  MySqlResult<bool> update(const RateLimitRuleRow& row);
  MySqlResult<bool> remove(std::uint64_t id);

 private:
  MySqlResult<std::optional<RateLimitRuleRow>> find_where(const char* where,
                                                          const std::string* name,
                                                          std::uint64_t id);
  DbSession& db_;
};

}  // namespace gatewayd::persistence
