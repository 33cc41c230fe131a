#pragma once
// The `api_keys` table. Holds the SHA-256 hash of each key, never the clear key (the admin API
// shows that once, at creation). `permissions` is a JSON value: a list of permissions, or an
// object {"permissions": [...], "roles": [...], "scopes": [...]} for keys that carry roles.
// Blocking; call it off the event loop.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "persistence/db_session.hpp"

namespace gatewayd::persistence {

struct ApiKeyRow {
  std::uint64_t id = 0;
  std::string api_key_hash;  // lowercase hex SHA-256
  std::string user_id;
  std::string tenant_id;  // empty = NULL
  std::string name;
  std::string permissions_json = "null";
  std::optional<std::uint32_t> rate_limit_per_minute, rate_limit_per_hour;
  bool is_active = true;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  std::string created_by;  // empty = NULL
  // Filled when read, ISO 8601 UTC ("" for NULL).
  std::string expires_at_text, created_at, updated_at, last_used_at;
};

class ApiKeyRepository {
 public:
  explicit ApiKeyRepository(DbSession& db) : db_(db) {}

  // Every key, active or not (a disabled key must be recognised to be refused as disabled).
  MySqlResult<std::vector<ApiKeyRow>> list();
  MySqlResult<std::optional<ApiKeyRow>> find(std::uint64_t id);
  // Returns the new id; a hash clash fails with kMySqlDuplicateEntry.
  MySqlResult<std::uint64_t> insert(const ApiKeyRow& row);
  // false when there is no such key.
  MySqlResult<bool> set_active(std::uint64_t id, bool active);
  MySqlResult<bool> remove(std::uint64_t id);

 private:
  DbSession& db_;
};

}  // namespace gatewayd::persistence
