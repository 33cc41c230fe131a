#include "persistence/route_store.hpp"

#include "clients/mysql_statement.hpp"

namespace gatewayd::persistence {
namespace {

std::string select_columns() {
  return "SELECT id, name, path, service_name, methods, auth_required, rate_limit, timeout, "
         "strip_prefix, rewrite_path, priority, is_active, extra, " +
         iso_time_column("created_at") + ", " + iso_time_column("updated_at") + " FROM routes";
}

RouteRow to_row(const std::vector<std::optional<std::string>>& r) {
  RouteRow row;
  row.id = column_u64(r[0]);
  row.name = column_text(r[1]);
  row.path = column_text(r[2]);
  row.service_name = column_text(r[3]);
  row.methods = column_text(r[4]);
  row.auth_required = column_bool(r[5]);
  row.rate_limit = column_optional_u32(r[6]);
  row.timeout_seconds = static_cast<std::uint32_t>(column_u64(r[7]));
  row.strip_prefix = column_bool(r[8]);
  row.rewrite_path = r[9];
  row.priority = static_cast<int>(column_i64(r[10]));
  row.is_active = column_bool(r[11]);
  row.extra_json = r[12] && !r[12]->empty() ? *r[12] : "{}";
  row.created_at = iso_millis(r[13]);
  row.updated_at = iso_millis(r[14]);
  return row;
}

// Binds the data columns in the order of kDataColumns.
void bind_data(MySqlStatement& st, const RouteRow& row) {
  st.bind_text(row.name).bind_text(row.path).bind_text(row.service_name).bind_text(row.methods);
  st.bind_bool(row.auth_required);
  if (row.rate_limit) {
    st.bind_uint(*row.rate_limit);
  } else {
    st.bind_null();
  }
  st.bind_uint(row.timeout_seconds).bind_bool(row.strip_prefix);
  if (row.rewrite_path) {
    st.bind_text(*row.rewrite_path);
  } else {
    st.bind_null();
  }
  st.bind_int(row.priority).bind_bool(row.is_active).bind_text(row.extra_json);
}

constexpr const char* kDataColumns =
    "name, path, service_name, methods, auth_required, rate_limit, timeout, strip_prefix, "
    "rewrite_path, priority, is_active, extra";

}  // namespace

MySqlResult<std::vector<RouteRow>> RouteStore::list(bool active_only) {
  using R = MySqlResult<std::vector<RouteRow>>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto rows =
        c.query(select_columns() + (active_only ? " WHERE is_active = 1" : "") + " ORDER BY id");
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    R out;
    for (const auto& r : rows.value.rows) out.value.push_back(to_row(r));
    return out;
  });
}

MySqlResult<std::optional<RouteRow>> RouteStore::find(std::uint64_t id) {
  using R = MySqlResult<std::optional<RouteRow>>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare(select_columns() + " WHERE id = ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    st.value->bind_uint(id);
    auto rows = st.value->query();
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    R out;
    if (!rows.value.rows.empty()) out.value = to_row(rows.value.rows.front());
    return out;
  });
}

MySqlResult<std::uint64_t> RouteStore::insert(const RouteRow& row) {
  using R = MySqlResult<std::uint64_t>;
  return db_.run([&](MySqlConnection& c) -> R {
    const bool keep_id = row.id != 0;
    auto st =
        c.prepare(std::string("INSERT INTO routes (") + (keep_id ? "id, " : "") + kDataColumns +
                  ") VALUES (" + (keep_id ? "?, " : "") + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return R::failure(std::move(*st.error));
    if (keep_id) st.value->bind_uint(row.id);
    bind_data(*st.value, row);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    if (keep_id) return R{row.id, std::nullopt};
    auto id = c.query("SELECT LAST_INSERT_ID()");
    if (!id.ok()) return R::failure(std::move(*id.error));
    return R{id.value.rows.empty() ? 0 : column_u64(id.value.rows[0][0]), std::nullopt};
  });
}

MySqlResult<bool> RouteStore::update(const RouteRow& row) {
  using R = MySqlResult<bool>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare(
        "UPDATE routes SET name = ?, path = ?, service_name = ?, methods = ?, auth_required = ?, "
        "rate_limit = ?, timeout = ?, strip_prefix = ?, rewrite_path = ?, priority = ?, "
        "is_active = ?, extra = ? WHERE id = ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    bind_data(*st.value, row);
    st.value->bind_uint(row.id);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    if (st.value->affected_rows() > 0) return R{true, std::nullopt};
    return row_exists(c, "routes", row.id);
  });
}

MySqlResult<bool> RouteStore::remove(std::uint64_t id) {
  using R = MySqlResult<bool>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare("DELETE FROM routes WHERE id = ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    st.value->bind_uint(id);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    return R{st.value->affected_rows() > 0, std::nullopt};
  });
}

}  // namespace gatewayd::persistence
