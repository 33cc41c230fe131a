#pragma once
// One blocking connection through MariaDB Connector/C (speaks to MySQL 8 and MariaDB 10.11).
// Not thread-safe: one owner thread at a time (the persistence writer, or an admin query under
// its own lock). Every call is bounded by the connect/read/write timeouts of MySqlOptions.
// Sessions run with time_zone '+00:00' and utf8mb4, so DATETIME columns hold UTC.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "clients/mysql_error.hpp"
#include "clients/mysql_options.hpp"

struct st_mysql;

namespace gatewayd {

class MySqlStatement;

class MySqlConnection {
 public:
  struct ConnectFlags {
    bool select_database = true;    // false: connect without a default database (for --init-db)
    bool multi_statements = false;  // allow "a; b; c" in execute() (schema scripts only)
  };

  explicit MySqlConnection(MySqlOptions options);
  ~MySqlConnection();
  MySqlConnection(const MySqlConnection&) = delete;
  MySqlConnection& operator=(const MySqlConnection&) = delete;

  std::optional<MySqlError> connect() { return connect(ConnectFlags{}); }
  std::optional<MySqlError> connect(ConnectFlags flags);
  void close() noexcept;
  bool connected() const noexcept { return handle_ != nullptr; }

  // Runs statements and discards any result sets (all of them, with multi_statements).
  std::optional<MySqlError> execute(std::string_view sql);
  // Runs one query through the text protocol; values come back as text.
  MySqlResult<MySqlRows> query(std::string_view sql);
  // Prepares a statement bound to this connection; it must not outlive the connection (close()
  // invalidates it: prepare again after reconnecting).
  MySqlResult<std::unique_ptr<MySqlStatement>> prepare(std::string_view sql);

  std::optional<MySqlError> begin() { return execute("START TRANSACTION"); }
  std::optional<MySqlError> commit() { return execute("COMMIT"); }
  // Best effort; errors are ignored (a lost connection rolls back by itself).
  void rollback() noexcept;

  std::uint64_t affected_rows() const noexcept;
  // Server version string ("10.11.6-MariaDB", "8.0.36"), empty when not connected.
  std::string server_version() const;
  // Whether the server executes a prepared statement for an array of parameter sets in one
  // command (MariaDB 10.2+ advertises MARIADB_CLIENT_STMT_BULK_OPERATIONS; MySQL never does).
  // See MySqlStatement::execute_bulk.
  bool supports_bulk() const noexcept { return supports_bulk_; }

  const MySqlOptions& options() const noexcept { return options_; }
  st_mysql* handle() noexcept { return handle_; }

  // The last error of the connection; closes it when the error means it is unusable.
  MySqlError take_error();

 private:
  MySqlOptions options_;
  st_mysql* handle_ = nullptr;
  bool supports_bulk_ = false;
};

// Initialises the client library once per process (mysql_library_init is not thread-safe).
void mysql_client_library_init();

}  // namespace gatewayd
