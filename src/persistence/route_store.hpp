#pragma once
// The `routes` table: routes created through the admin API, merged with routes.yaml by the app.
// Rows keep the reference columns; gatewayd's richer route fields (host, retry, auth, headers,
// ...) travel in the `extra` JSON object so that a row always rebuilds the route it stored.
// Blocking; call it off the event loop.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "persistence/db_session.hpp"

namespace gatewayd::persistence {

struct RouteRow {
  std::uint64_t id = 0;
  std::string name;
  std::string path;
  std::string service_name;
  std::string methods = "GET";  // upper-case, sorted, comma-separated (part of the unique key)
  bool auth_required = true;
  std::optional<std::uint32_t> rate_limit;  // requests per minute
  std::uint32_t timeout_seconds = 30;
  bool strip_prefix = false;
  std::optional<std::string> rewrite_path;
  int priority = 0;
  bool is_active = true;
  std::string extra_json = "{}";       // a JSON object
  std::string created_at, updated_at;  // ISO 8601 UTC, filled when read
};

class RouteStore {
 public:
  explicit RouteStore(DbSession& db) : db_(db) {}

  // Ordered by id (creation order), so merged configs are stable across reloads.
  MySqlResult<std::vector<RouteRow>> list(bool active_only);
  MySqlResult<std::optional<RouteRow>> find(std::uint64_t id);
  // Inserts a new row and returns its id; a non-zero row.id is kept (undoing a delete).
  // A clash on the name or on (path, methods) fails with kMySqlDuplicateEntry.
  MySqlResult<std::uint64_t> insert(const RouteRow& row);
  // Replaces every column of row.id; false when there is no such row.
  MySqlResult<bool> update(const RouteRow& row);
  MySqlResult<bool> remove(std::uint64_t id);

 private:
  DbSession& db_;
};

}  // namespace gatewayd::persistence
