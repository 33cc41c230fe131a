#include "persistence/rate_limit_rule_store.hpp"

#include "clients/mysql_statement.hpp"

namespace gatewayd::persistence {
namespace {

std::string select_columns() {
  return "SELECT id, rule_name, limit_type, path_pattern, max_requests, window_seconds, burst, "
         "is_active, " +
         iso_time_column("created_at") + ", " + iso_time_column("updated_at") +
         " FROM rate_limit_rules";
}

RateLimitRuleRow to_row(const std::vector<std::optional<std::string>>& r) {
  RateLimitRuleRow row;
  row.id = column_u64(r[0]);
  row.rule_name = column_text(r[1]);
  row.limit_type = column_text(r[2]);
  row.path_pattern = column_text(r[3]);
  row.max_requests = static_cast<std::uint32_t>(column_u64(r[4]));
  row.window_seconds = static_cast<std::uint32_t>(column_u64(r[5]));
  row.burst = column_optional_u32(r[6]);
  row.is_active = column_bool(r[7]);
  row.created_at = iso_millis(r[8]);
  row.updated_at = iso_millis(r[9]);
  return row;
}

void bind_data(MySqlStatement& st, const RateLimitRuleRow& row) {
  st.bind_text(row.rule_name).bind_text(row.limit_type).bind_text_or_null(row.path_pattern);
  st.bind_uint(row.max_requests).bind_uint(row.window_seconds);
  if (row.burst) {
    st.bind_uint(*row.burst);
  } else {
    st.bind_null();
  }
  st.bind_bool(row.is_active);
}

}  // namespace

MySqlResult<std::vector<RateLimitRuleRow>> RateLimitRuleStore::list(bool active_only) {
  using R = MySqlResult<std::vector<RateLimitRuleRow>>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto rows =
        c.query(select_columns() + (active_only ? " WHERE is_active = 1" : "") + " ORDER BY id");
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    R out;
    for (const auto& r : rows.value.rows) out.value.push_back(to_row(r));
    return out;
  });
}

MySqlResult<std::optional<RateLimitRuleRow>> RateLimitRuleStore::find(std::uint64_t id) {
  return find_where("id = ?", nullptr, id);
}

MySqlResult<std::optional<RateLimitRuleRow>> RateLimitRuleStore::find_by_name(
    const std::string& rule_name) {
  return find_where("rule_name = ?", &rule_name, 0);
}

MySqlResult<std::optional<RateLimitRuleRow>> RateLimitRuleStore::find_where(const char* where,
                                                                            const std::string* name,
                                                                            std::uint64_t id) {
  using R = MySqlResult<std::optional<RateLimitRuleRow>>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare(select_columns() + " WHERE " + where);
    if (!st.ok()) return R::failure(std::move(*st.error));
    if (name) {
      st.value->bind_text(*name);
    } else {
      st.value->bind_uint(id);
    }
    auto rows = st.value->query();
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    R out;
    if (!rows.value.rows.empty()) out.value = to_row(rows.value.rows.front());
    return out;
  });
}

MySqlResult<std::uint64_t> RateLimitRuleStore::insert(const RateLimitRuleRow& row) {
  using R = MySqlResult<std::uint64_t>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare(
        "INSERT INTO rate_limit_rules (rule_name, limit_type, path_pattern, max_requests, "
        "window_seconds, burst, is_active) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return R::failure(std::move(*st.error));
    bind_data(*st.value, row);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    auto id = c.query("SELECT LAST_INSERT_ID()");
    if (!id.ok()) return R::failure(std::move(*id.error));
    return R{id.value.rows.empty() ? 0 : column_u64(id.value.rows[0][0]), std::nullopt};
  });
}

MySqlResult<bool> RateLimitRuleStore::update(const RateLimitRuleRow& row) {
  using R = MySqlResult<bool>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare(
        "UPDATE rate_limit_rules SET rule_name = ?, limit_type = ?, path_pattern = ?, "
        "max_requests = ?, window_seconds = ?, burst = ?, is_active = ? WHERE id = ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    bind_data(*st.value, row);
    st.value->bind_uint(row.id);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    if (st.value->affected_rows() > 0) return R{true, std::nullopt};
    return row_exists(c, "rate_limit_rules", row.id);
  });
}

MySqlResult<bool> RateLimitRuleStore::remove(std::uint64_t id) {
  using R = MySqlResult<bool>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare("DELETE FROM rate_limit_rules WHERE id = ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    st.value->bind_uint(id);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    return R{st.value->affected_rows() > 0, std::nullopt};
  });
}

}  // namespace gatewayd::persistence
