#include "persistence/db_session.hpp"

#include <cstdlib>

#include "clients/mysql_statement.hpp"

namespace gatewayd::persistence {

std::string column_text(const std::optional<std::string>& v) {
  return v ? *v : std::string();
}

std::uint64_t column_u64(const std::optional<std::string>& v) {
  return v ? std::strtoull(v->c_str(), nullptr, 10) : 0;
}

std::int64_t column_i64(const std::optional<std::string>& v) {
  return v ? std::strtoll(v->c_str(), nullptr, 10) : 0;
}

bool column_bool(const std::optional<std::string>& v) {
  return column_i64(v) != 0;
}

std::optional<std::uint32_t> column_optional_u32(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  return static_cast<std::uint32_t>(column_u64(v));
}

std::string iso_time_column(std::string_view column) {
  return "DATE_FORMAT(" + std::string(column) + ", '%Y-%m-%dT%H:%i:%s.%fZ')";
}

std::string iso_millis(const std::optional<std::string>& v) {
  std::string out = column_text(v);
  if (out.size() == 27) out.erase(23, 3);  // "...:05.123456Z" -> "...:05.123Z"
  return out;
}

MySqlResult<bool> row_exists(MySqlConnection& c, std::string_view table, std::uint64_t id) {
  using R = MySqlResult<bool>;
  auto st = c.prepare("SELECT 1 FROM " + std::string(table) + " WHERE id = ?");
  if (!st.ok()) return R::failure(std::move(*st.error));
  st.value->bind_uint(id);
  auto rows = st.value->query();
  if (!rows.ok()) return R::failure(std::move(*rows.error));
  return R{!rows.value.rows.empty(), std::nullopt};
}

}  // namespace gatewayd::persistence
