#include "persistence/schema.hpp"

#include <stdexcept>

#include "clients/mysql_connection.hpp"
#include "persistence/init_database_sql.hpp"

namespace gatewayd::persistence {
namespace {

constexpr std::string_view kBegin = "-- gatewayd:database-begin\n";
constexpr std::string_view kEnd = "-- gatewayd:database-end\n";

bool valid_identifier(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '$';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view schema_sql() noexcept {
  return generated::kInitDatabaseSql;
}

std::string schema_sql_for(std::string_view database) {
  if (!valid_identifier(database)) {
    throw std::invalid_argument("MYSQL_DATABASE must be a plain identifier ([A-Za-z0-9_$]): '" +
                                std::string(database) + "'");
  }
  std::string_view sql = schema_sql();
  const auto begin = sql.find(kBegin);
  const auto end = sql.find(kEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) {
    throw std::logic_error("init_database.sql lacks its database section markers");
  }
  std::string out(sql.substr(0, begin));
  out += "CREATE DATABASE IF NOT EXISTS `" + std::string(database) +
         "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\nUSE `" + std::string(database) + "`;\n";
  out += sql.substr(end + kEnd.size());
  return out;
}

InitDatabaseResult init_database(const MySqlOptions& options) {
  const std::string script = schema_sql_for(options.database);
  MySqlConnection connection(options);
  if (auto e = connection.connect({.select_database = false, .multi_statements = true})) {
    throw std::runtime_error("cannot connect to MySQL at " + describe(options) + ": " +
                             e->describe());
  }
  if (auto e = connection.execute(script)) {
    throw std::runtime_error("applying the schema to " + describe(options) +
                             " failed: " + e->describe());
  }
  InitDatabaseResult result;
  result.server_version = connection.server_version();
  auto rows = connection.query("SELECT MAX(version) FROM schema_version");
  if (!rows.ok()) {
    throw std::runtime_error("reading schema_version from " + describe(options) +
                             " failed: " + rows.error->describe());
  }
  if (!rows.value.rows.empty() && rows.value.rows[0][0]) {
    result.schema_version = std::stoi(*rows.value.rows[0][0]);
  }
  return result;
}

}  // namespace gatewayd::persistence
