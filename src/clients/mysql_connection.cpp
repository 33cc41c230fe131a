#include "clients/mysql_connection.hpp"

#include <errmsg.h>
#include <mysql.h>

#include <mutex>

#include "clients/mysql_statement.hpp"

namespace gatewayd {
namespace {

unsigned int seconds_ceil(std::chrono::milliseconds ms) {
  auto s = (ms.count() + 999) / 1000;
  return static_cast<unsigned int>(s < 1 ? 1 : s);
}

}  // namespace

void mysql_client_library_init() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

std::string describe(const MySqlOptions& o) {
  std::string where = o.user + "@" + o.host;
  if (!o.unix_socket.empty()) {
    where += ":" + o.unix_socket;
  } else if (o.host != "localhost") {
    where += ":" + std::to_string(o.port);
  }
  return where + "/" + o.database;
}

MySqlConnection::MySqlConnection(MySqlOptions options) : options_(std::move(options)) {
  mysql_client_library_init();
}

MySqlConnection::~MySqlConnection() {
  close();
}

void MySqlConnection::close() noexcept {
  if (handle_ != nullptr) {
    mysql_close(handle_);
    handle_ = nullptr;
  }
  supports_bulk_ = false;
}

std::optional<MySqlError> MySqlConnection::connect(ConnectFlags flags) {
  close();
  MYSQL* h = mysql_init(nullptr);
  if (h == nullptr) {
    return MySqlError{CR_OUT_OF_MEMORY, "mysql_init failed"};
  }
  unsigned int connect_timeout = seconds_ceil(options_.connect_timeout);
  unsigned int read_timeout = seconds_ceil(options_.read_timeout);
  unsigned int write_timeout = seconds_ceil(options_.write_timeout);
  my_bool reconnect = 0;  // a silent reconnect would lose session state and transactions
  mysql_optionsv(h, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_optionsv(h, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_optionsv(h, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
  mysql_optionsv(h, MYSQL_OPT_RECONNECT, &reconnect);
  mysql_optionsv(h, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_optionsv(h, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
  unsigned long client_flags = CLIENT_FOUND_ROWS;
  if (flags.multi_statements) {
    client_flags |= CLIENT_MULTI_STATEMENTS;
  }
  const char* db =
      flags.select_database && !options_.database.empty() ? options_.database.c_str() : nullptr;
  const char* socket = options_.unix_socket.empty() ? nullptr : options_.unix_socket.c_str();
  if (mysql_real_connect(h, options_.host.c_str(), options_.user.c_str(), options_.password.c_str(),
                         db, options_.port, socket, client_flags) == nullptr) {
    MySqlError e{mysql_errno(h), mysql_error(h)};
    mysql_close(h);
    return e;
  }
  handle_ = h;
  // The extended capabilities exist only in MariaDB's handshake; a MySQL server sets
  // CLIENT_MYSQL (the flag MariaDB clears) and never has them.
  unsigned long server_caps = 0;
  unsigned long extended_caps = 0;
  mariadb_get_infov(h, MARIADB_CONNECTION_SERVER_CAPABILITIES, &server_caps);
  mariadb_get_infov(h, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &extended_caps);
  supports_bulk_ = (server_caps & CLIENT_MYSQL) == 0 &&
                   (extended_caps & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0;
  return std::nullopt;
}

MySqlError MySqlConnection::take_error() {
  if (handle_ == nullptr) {
    return MySqlError{CR_SERVER_GONE_ERROR, "not connected"};
  }
  MySqlError e{mysql_errno(handle_), mysql_error(handle_)};
  if (e.code == 0) {
    e.code = CR_UNKNOWN_ERROR;
    e.message = "unknown error";
  }
  if (e.connection_lost()) {
    close();
  }
  return e;
}

std::optional<MySqlError> MySqlConnection::execute(std::string_view sql) {
  if (handle_ == nullptr) {
    return MySqlError{CR_SERVER_GONE_ERROR, "not connected"};
  }
  if (mysql_real_query(handle_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
    return take_error();
  }
  // Drain every result (a multi-statement script yields one per statement); an error in a later
  // statement is reported by mysql_next_result.
  while (true) {
    MYSQL_RES* res = mysql_store_result(handle_);
    if (res != nullptr) {
      mysql_free_result(res);
    } else if (mysql_field_count(handle_) != 0) {
      return take_error();
    }
    int next = mysql_next_result(handle_);
    if (next == -1) {
      break;
    }
    if (next > 0) {
      return take_error();
    }
  }
  return std::nullopt;
}

MySqlResult<MySqlRows> MySqlConnection::query(std::string_view sql) {
  using R = MySqlResult<MySqlRows>;
  if (handle_ == nullptr) {
    return R::failure(MySqlError{CR_SERVER_GONE_ERROR, "not connected"});
  }
  if (mysql_real_query(handle_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
    return R::failure(take_error());
  }
  MYSQL_RES* res = mysql_store_result(handle_);
  R out;
  if (res == nullptr) {
    if (mysql_field_count(handle_) != 0) {
      return R::failure(take_error());
    }
    return out;  // a statement without result set
  }
  unsigned int n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  for (unsigned int i = 0; i < n; ++i) {
    out.value.columns.emplace_back(fields[i].name);
  }
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    auto& r = out.value.rows.emplace_back();
    r.reserve(n);
    for (unsigned int i = 0; i < n; ++i) {
      if (row[i] == nullptr) {
        r.emplace_back(std::nullopt);
      } else {
        r.emplace_back(std::string(row[i], lengths[i]));
      }
    }
  }
  mysql_free_result(res);
  // Drain further results so the connection stays usable.
  while (mysql_next_result(handle_) == 0) {
    if (MYSQL_RES* extra = mysql_store_result(handle_)) {
      mysql_free_result(extra);
    }
  }
  return out;
}

MySqlResult<std::unique_ptr<MySqlStatement>> MySqlConnection::prepare(std::string_view sql) {
  using R = MySqlResult<std::unique_ptr<MySqlStatement>>;
  if (handle_ == nullptr) {
    return R::failure(MySqlError{CR_SERVER_GONE_ERROR, "not connected"});
  }
  MYSQL_STMT* stmt = mysql_stmt_init(handle_);
  if (stmt == nullptr) {
    return R::failure(take_error());
  }
  if (mysql_stmt_prepare(stmt, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
    MySqlError e{mysql_stmt_errno(stmt), mysql_stmt_error(stmt)};
    mysql_stmt_close(stmt);
    if (e.connection_lost()) {
      close();
    }
    return R::failure(std::move(e));
  }
  R out;
  out.value = std::unique_ptr<MySqlStatement>(new MySqlStatement(this, stmt));
  return out;
}

void MySqlConnection::rollback() noexcept {
  if (handle_ != nullptr) {
    static constexpr std::string_view kSql = "ROLLBACK";
    if (mysql_real_query(handle_, kSql.data(), kSql.size()) != 0 &&
        MySqlError{mysql_errno(handle_), {}}.connection_lost()) {
      close();
    }
  }
}

std::uint64_t MySqlConnection::affected_rows() const noexcept {
  return handle_ == nullptr ? 0 : mysql_affected_rows(handle_);
}

std::string MySqlConnection::server_version() const {
  return handle_ == nullptr ? std::string() : std::string(mysql_get_server_info(handle_));
}

}  // namespace gatewayd
