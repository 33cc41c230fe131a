#pragma once
// The database schema (scripts/database/init_database.sql, compiled in) and `gatewayd --init-db`.
#include <string>
#include <string_view>

#include "clients/mysql_options.hpp"

namespace gatewayd::persistence {

// The version recorded in schema_version by this build's script.
inline constexpr int kSchemaVersion = 2;

// init_database.sql exactly as in the source tree.
std::string_view schema_sql() noexcept;
// The script with its database section (CREATE DATABASE / USE) naming `database`.
// Throws std::invalid_argument for a name that is not a plain identifier ([A-Za-z0-9_$], <= 64).
std::string schema_sql_for(std::string_view database);

struct InitDatabaseResult {
  std::string server_version;
  int schema_version = 0;  // highest version in schema_version after applying
};

// Creates options.database if needed and applies the schema; safe to run any number of times.
// Throws std::runtime_error with a message naming the server (never the password).
InitDatabaseResult init_database(const MySqlOptions& options);

}  // namespace gatewayd::persistence
