#pragma once
// A server-side prepared statement. Parameters are bound in placeholder order, then execute()
// (or query() for a SELECT) sends them; binding starts over after each call. Text parameters are
// views, not copies: they must stay valid until execute()/query() returns.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "clients/mysql_error.hpp"

struct st_mysql_stmt;
struct st_mysql_bind;
struct st_mysql_time;

namespace gatewayd {

class MySqlConnection;

class MySqlStatement {
 public:
  ~MySqlStatement();
  MySqlStatement(const MySqlStatement&) = delete;
  MySqlStatement& operator=(const MySqlStatement&) = delete;

  unsigned param_count() const noexcept { return param_count_; }

  MySqlStatement& bind_text(std::string_view v);
  MySqlStatement& bind_text_or_null(std::string_view v);  // empty string binds NULL
  MySqlStatement& bind_int(std::int64_t v);
  MySqlStatement& bind_uint(std::uint64_t v);
  MySqlStatement& bind_double(double v);
  MySqlStatement& bind_bool(bool v) { return bind_int(v ? 1 : 0); }
  // UTC DATETIME with microseconds (the column decides the stored precision).
  MySqlStatement& bind_time(std::chrono::system_clock::time_point t);
  // The epoch (a default-constructed time_point) binds NULL: "never happened".
  MySqlStatement& bind_time_or_null(std::chrono::system_clock::time_point t);
  MySqlStatement& bind_null();
  void clear_params() noexcept { params_.clear(); }
  std::size_t bound_params() const noexcept { return params_.size(); }

  // Executes a statement without result set (INSERT/UPDATE/DELETE).
  std::optional<MySqlError> execute();
  // Executes the statement once per parameter set, for `rows` sets bound one after another
  // (rows × param_count() bind calls), in one command: MariaDB's bulk execution. The server then
  // runs a single-row INSERT for each set without parsing or binding a statement of rows ×
  // columns parameters, which costs it less per row than a multi-row INSERT. Needs
  // MySqlConnection::supports_bulk(); each parameter keeps one value kind over the rows (NULL
  // aside). The statement stays usable for execute() afterwards.
  std::optional<MySqlError> execute_bulk(std::size_t rows);
  // Executes a SELECT; every value comes back as text.
  MySqlResult<MySqlRows> query();
  std::uint64_t affected_rows() const noexcept { return affected_rows_; }

 private:
  friend class MySqlConnection;
  MySqlStatement(MySqlConnection* connection, st_mysql_stmt* stmt);

  enum class Kind : std::uint8_t { kNull, kText, kInt, kUint, kDouble, kTime };
  struct Param {
    Kind kind = Kind::kNull;
    std::string_view text;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;
    std::chrono::system_clock::time_point t{};
  };

  std::optional<MySqlError> send();
  std::optional<MySqlError> send_bulk(std::size_t rows);
  MySqlError take_error();

  MySqlConnection* connection_;
  st_mysql_stmt* stmt_;
  unsigned param_count_ = 0;
  std::vector<Param> params_;
  // Connector/C's view of params_, kept between executions: a multi-row INSERT has hundreds of
  // parameters, and allocating these per execution made glibc grow and trim the writer thread's
  // heap (madvise and a TLB flush) every statement.
  std::vector<st_mysql_bind> binds_;
  std::vector<unsigned long> lengths_;
  std::vector<st_mysql_time> times_;
  // Column-wise arrays of a bulk execution (index: parameter * rows + row), kept like binds_.
  // Connector/C takes text and DATETIME values through pointer arrays, numbers inline.
  std::vector<char> bulk_indicators_;
  std::vector<unsigned long> bulk_lengths_;
  std::vector<const void*> bulk_pointers_;
  std::vector<std::int64_t> bulk_numbers_;
  std::vector<double> bulk_doubles_;
  std::uint64_t affected_rows_ = 0;
};

}  // namespace gatewayd
