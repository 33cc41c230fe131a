#pragma once
// MySQL errors as values, and the distinction the writer needs: a transient error (connection
// lost, timeout, server shutting down, missing schema, lock wait) means "retry later, keep the
// records"; a data error (value too long, invalid JSON, constraint) means this batch can never
// succeed as it is.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatewayd {

struct MySqlError {
  unsigned code = 0;  // server (1xxx, 3xxx, 4xxx) or client (2xxx) error number
  std::string message;

  // Client-side errors: the connection is gone or unusable and must be re-established.
  bool connection_lost() const noexcept { return code >= 2000 && code < 3000; }
  // True for errors caused by the data of the statement (see the list in mysql_error.cpp).
  bool data_error() const noexcept;
  std::string describe() const { return "MySQL error " + std::to_string(code) + ": " + message; }
};

// A value or an error.
template <class T>
struct MySqlResult {
  T value{};
  std::optional<MySqlError> error;

  bool ok() const noexcept { return !error.has_value(); }
  static MySqlResult failure(MySqlError e) {
    MySqlResult r;
    r.error = std::move(e);
    return r;
  }
};

// Rows of a query, every value as text (NULL = nullopt), in column order.
struct MySqlRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;

  // Index of a column by name, or -1.
  int column(std::string_view name) const noexcept;
};

}  // namespace gatewayd
