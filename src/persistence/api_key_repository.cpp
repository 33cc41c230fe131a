#include "persistence/api_key_repository.hpp"

#include "clients/mysql_statement.hpp"

namespace gatewayd::persistence {
namespace {

std::string select_columns() {
  // expires_at also as epoch milliseconds: sessions run in UTC, so UNIX_TIMESTAMP reads the
  // DATETIME as UTC, and the loader needs a time point rather than text.
  return "SELECT id, api_key_hash, user_id, tenant_id, name, permissions, rate_limit_per_minute, "
         "rate_limit_per_hour, is_active, FLOOR(UNIX_TIMESTAMP(expires_at) * 1000), created_by, " +
         iso_time_column("expires_at") + ", " + iso_time_column("created_at") + ", " +
         iso_time_column("updated_at") + ", " + iso_time_column("last_used_at") + " FROM api_keys";
}

ApiKeyRow to_row(const std::vector<std::optional<std::string>>& r) {
  ApiKeyRow row;
  row.id = column_u64(r[0]);
  row.api_key_hash = column_text(r[1]);
  row.user_id = column_text(r[2]);
  row.tenant_id = column_text(r[3]);
  row.name = column_text(r[4]);
  row.permissions_json = r[5] ? *r[5] : "null";
  row.rate_limit_per_minute = column_optional_u32(r[6]);
  row.rate_limit_per_hour = column_optional_u32(r[7]);
  row.is_active = column_bool(r[8]);
  if (r[9]) {
    row.expires_at =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(column_i64(r[9])));
  }
  row.created_by = column_text(r[10]);
  row.expires_at_text = iso_millis(r[11]);
  row.created_at = iso_millis(r[12]);
  row.updated_at = iso_millis(r[13]);
  row.last_used_at = iso_millis(r[14]);
  return row;
}

}  // namespace

MySqlResult<std::vector<ApiKeyRow>> ApiKeyRepository::list() {
  using R = MySqlResult<std::vector<ApiKeyRow>>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto rows = c.query(select_columns() + " ORDER BY id");
    if (!rows.ok()) return R::failure(std::move(*rows.error));
    R out;
    for (const auto& r : rows.value.rows) out.value.push_back(to_row(r));
    return out;
  });
}

MySqlResult<std::optional<ApiKeyRow>> ApiKeyRepository::find(std::uint64_t id) {
  using R = MySqlResult<std::optional<ApiKeyRow>>;
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

MySqlResult<std::uint64_t> ApiKeyRepository::insert(const ApiKeyRow& row) {
  using R = MySqlResult<std::uint64_t>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare(
        "INSERT INTO api_keys (api_key_hash, user_id, tenant_id, name, permissions, "
        "rate_limit_per_minute, rate_limit_per_hour, is_active, expires_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return R::failure(std::move(*st.error));
    auto& s = *st.value;
    s.bind_text(row.api_key_hash).bind_text(row.user_id).bind_text_or_null(row.tenant_id);
    s.bind_text(row.name);
    if (row.permissions_json == "null") {
      s.bind_null();
    } else {
      s.bind_text(row.permissions_json);
    }
    for (const auto& limit : {row.rate_limit_per_minute, row.rate_limit_per_hour}) {
      if (limit) {
        s.bind_uint(*limit);
      } else {
        s.bind_null();
      }
    }
    s.bind_bool(row.is_active);
    if (row.expires_at) {
      s.bind_time(*row.expires_at);
    } else {
      s.bind_null();
    }
    s.bind_text_or_null(row.created_by);
    if (auto e = s.execute()) return R::failure(std::move(*e));
    auto id = c.query("SELECT LAST_INSERT_ID()");
    if (!id.ok()) return R::failure(std::move(*id.error));
    return R{id.value.rows.empty() ? 0 : column_u64(id.value.rows[0][0]), std::nullopt};
  });
}

MySqlResult<bool> ApiKeyRepository::set_active(std::uint64_t id, bool active) {
  using R = MySqlResult<bool>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare("UPDATE api_keys SET is_active = ? WHERE id = ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    st.value->bind_bool(active).bind_uint(id);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    if (st.value->affected_rows() > 0) return R{true, std::nullopt};
    return row_exists(c, "api_keys", id);
  });
}

MySqlResult<bool> ApiKeyRepository::remove(std::uint64_t id) {
  using R = MySqlResult<bool>;
  return db_.run([&](MySqlConnection& c) -> R {
    auto st = c.prepare("DELETE FROM api_keys WHERE id = ?");
    if (!st.ok()) return R::failure(std::move(*st.error));
    st.value->bind_uint(id);
    if (auto e = st.value->execute()) return R::failure(std::move(*e));
    return R{st.value->affected_rows() > 0, std::nullopt};
  });
}

}  // namespace gatewayd::persistence
