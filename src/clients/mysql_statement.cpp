#include "clients/mysql_statement.hpp"

#include <errmsg.h>
#include <mysql.h>

#include <ctime>
#include <limits>
#include <string>

#include "clients/mysql_connection.hpp"

namespace gatewayd {
namespace {

MYSQL_TIME to_mysql_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  auto secs = us / 1'000'000;
  auto frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  MYSQL_TIME m{};
  m.year = static_cast<unsigned>(tm.tm_year + 1900);
  m.month = static_cast<unsigned>(tm.tm_mon + 1);
  m.day = static_cast<unsigned>(tm.tm_mday);
  m.hour = static_cast<unsigned>(tm.tm_hour);
  m.minute = static_cast<unsigned>(tm.tm_min);
  m.second = static_cast<unsigned>(tm.tm_sec);
  m.second_part = static_cast<unsigned long>(frac);
  m.time_type = MYSQL_TIMESTAMP_DATETIME;
  return m;
}

}  // namespace

MySqlStatement::MySqlStatement(MySqlConnection* connection, st_mysql_stmt* stmt)
    : connection_(connection), stmt_(stmt) {
  param_count_ = static_cast<unsigned>(mysql_stmt_param_count(stmt_));
  params_.reserve(param_count_);
}

MySqlStatement::~MySqlStatement() {
  // Safe after the connection closed: Connector/C detaches statements on mysql_close.
  mysql_stmt_close(stmt_);
}

MySqlStatement& MySqlStatement::bind_text(std::string_view v) {
  Param& p = params_.emplace_back();
  p.kind = Kind::kText;
  p.text = v;
  return *this;
}

MySqlStatement& MySqlStatement::bind_text_or_null(std::string_view v) {
  return v.empty() ? bind_null() : bind_text(v);
}

MySqlStatement& MySqlStatement::bind_int(std::int64_t v) {
  Param& p = params_.emplace_back();
  p.kind = Kind::kInt;
  p.i = v;
  return *this;
}

MySqlStatement& MySqlStatement::bind_uint(std::uint64_t v) {
  Param& p = params_.emplace_back();
  p.kind = Kind::kUint;
  p.u = v;
  return *this;
}

MySqlStatement& MySqlStatement::bind_double(double v) {
  Param& p = params_.emplace_back();
  p.kind = Kind::kDouble;
  p.d = v;
  return *this;
}

MySqlStatement& MySqlStatement::bind_time(std::chrono::system_clock::time_point t) {
  Param& p = params_.emplace_back();
  p.kind = Kind::kTime;
  p.t = t;
  return *this;
}

MySqlStatement& MySqlStatement::bind_time_or_null(std::chrono::system_clock::time_point t) {
  return t.time_since_epoch().count() == 0 ? bind_null() : bind_time(t);
}

MySqlStatement& MySqlStatement::bind_null() {
  params_.emplace_back();
  return *this;
}

MySqlError MySqlStatement::take_error() {
  MySqlError e{mysql_stmt_errno(stmt_), mysql_stmt_error(stmt_)};
  if (e.code == 0) {
    e.code = CR_UNKNOWN_ERROR;
    e.message = "unknown statement error";
  }
  if (e.connection_lost()) {
    connection_->close();
  }
  return e;
}

std::optional<MySqlError> MySqlStatement::send() {
  if (!connection_->connected()) {
    params_.clear();
    return MySqlError{CR_SERVER_GONE_ERROR, "not connected"};
  }
  if (params_.size() != param_count_) {
    std::string msg = "statement expects " + std::to_string(param_count_) + " parameters, got " +
                      std::to_string(params_.size());
    params_.clear();
    return MySqlError{CR_PARAMS_NOT_BOUND, std::move(msg)};
  }
  // Sized once (the parameter count never changes); only the fields a kind uses are reset.
  binds_.resize(param_count_);
  lengths_.resize(param_count_);
  times_.clear();
  times_.reserve(param_count_);  // no reallocation below: binds point into it
  for (unsigned i = 0; i < param_count_; ++i) {
    Param& p = params_[i];
    MYSQL_BIND& b = binds_[i];
    b = MYSQL_BIND{};
    switch (p.kind) {
      case Kind::kNull:
        b.buffer_type = MYSQL_TYPE_NULL;
        break;
      case Kind::kText:
        b.buffer_type = MYSQL_TYPE_STRING;
        // Connector/C only reads input buffers.
        b.buffer = const_cast<char*>(p.text.data());
        lengths_[i] = static_cast<unsigned long>(p.text.size());
        b.buffer_length = lengths_[i];
        b.length = &lengths_[i];
        break;
      case Kind::kInt:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &p.i;
        break;
      case Kind::kUint:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &p.u;
        b.is_unsigned = 1;
        break;
      case Kind::kDouble:
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &p.d;
        break;
      case Kind::kTime:
        times_.push_back(to_mysql_time(p.t));
        b.buffer_type = MYSQL_TYPE_DATETIME;
        b.buffer = &times_.back();
        break;
    }
  }
  params_.clear();
  if (param_count_ > 0 && mysql_stmt_bind_param(stmt_, binds_.data()) != 0) {
    return take_error();
  }
  if (mysql_stmt_execute(stmt_) != 0) {
    return take_error();
  }
  return std::nullopt;
}

std::optional<MySqlError> MySqlStatement::send_bulk(std::size_t rows) {
  if (!connection_->connected()) {
    params_.clear();
    return MySqlError{CR_SERVER_GONE_ERROR, "not connected"};
  }
  if (!connection_->supports_bulk() || param_count_ == 0 ||
      rows > std::numeric_limits<unsigned int>::max()) {
    params_.clear();
    return MySqlError{CR_FUNCTION_NOT_SUPPORTED, "bulk execution not available"};
  }
  if (params_.size() != rows * param_count_) {
    std::string msg = "bulk statement expects " + std::to_string(rows) + " x " +
                      std::to_string(param_count_) + " parameters, got " +
                      std::to_string(params_.size());
    params_.clear();
    return MySqlError{CR_PARAMS_NOT_BOUND, std::move(msg)};
  }
  const std::size_t cells = rows * param_count_;
  binds_.resize(param_count_);
  bulk_indicators_.resize(cells);
  bulk_lengths_.resize(cells);
  bulk_pointers_.resize(cells);
  bulk_numbers_.resize(cells);
  bulk_doubles_.resize(cells);
  std::size_t time_count = 0;
  for (const Param& p : params_) {
    time_count += p.kind == Kind::kTime ? 1 : 0;
  }
  times_.clear();
  times_.reserve(time_count);  // no reallocation below: bulk_pointers_ point into it
  for (unsigned col = 0; col < param_count_; ++col) {
    // The column's kind is that of its first non-NULL value; NULLs travel as indicators.
    Kind kind = Kind::kNull;
    for (std::size_t row = 0; row < rows && kind == Kind::kNull; ++row) {
      kind = params_[row * param_count_ + col].kind;
    }
    const std::size_t base = col * rows;
    MYSQL_BIND& b = binds_[col];
    b = MYSQL_BIND{};
    b.u.indicator = &bulk_indicators_[base];
    switch (kind) {
      case Kind::kNull:
      case Kind::kText:
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = &bulk_pointers_[base];
        b.length = &bulk_lengths_[base];
        break;
      case Kind::kInt:
      case Kind::kUint:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &bulk_numbers_[base];
        b.is_unsigned = kind == Kind::kUint ? 1 : 0;
        break;
      case Kind::kDouble:
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &bulk_doubles_[base];
        break;
      case Kind::kTime:
        b.buffer_type = MYSQL_TYPE_DATETIME;
        b.buffer = &bulk_pointers_[base];
        break;
    }
    for (std::size_t row = 0; row < rows; ++row) {
      const Param& p = params_[row * param_count_ + col];
      const std::size_t at = base + row;
      bulk_lengths_[at] = 0;
      bulk_pointers_[at] = "";
      if (p.kind == Kind::kNull) {
        bulk_indicators_[at] = STMT_INDICATOR_NULL;
        continue;
      }
      if (p.kind != kind) {
        params_.clear();
        return MySqlError{CR_UNSUPPORTED_PARAM_TYPE,
                          "bulk parameter " + std::to_string(col) + " changes its kind"};
      }
      bulk_indicators_[at] = STMT_INDICATOR_NONE;
      switch (p.kind) {
        case Kind::kText:
          bulk_pointers_[at] = p.text.data();
          bulk_lengths_[at] = static_cast<unsigned long>(p.text.size());
          break;
        case Kind::kInt:
          bulk_numbers_[at] = p.i;
          break;
        case Kind::kUint:
          bulk_numbers_[at] = static_cast<std::int64_t>(p.u);  // sent as is, flagged unsigned
          break;
        case Kind::kDouble:
          bulk_doubles_[at] = p.d;
          break;
        case Kind::kTime:
          times_.push_back(to_mysql_time(p.t));
          bulk_pointers_[at] = &times_.back();
          break;
        case Kind::kNull:
          break;
      }
    }
  }
  params_.clear();
  unsigned int array_size = static_cast<unsigned int>(rows);
  mysql_stmt_attr_set(stmt_, STMT_ATTR_ARRAY_SIZE, &array_size);
  const bool failed =
      mysql_stmt_bind_param(stmt_, binds_.data()) != 0 || mysql_stmt_execute(stmt_) != 0;
  // Back to single executions: execute() binds plain values on the same statement.
  array_size = 0;
  mysql_stmt_attr_set(stmt_, STMT_ATTR_ARRAY_SIZE, &array_size);
  if (failed) {
    return take_error();
  }
  return std::nullopt;
}

std::optional<MySqlError> MySqlStatement::execute_bulk(std::size_t rows) {
  affected_rows_ = 0;
  if (auto e = send_bulk(rows)) {
    return e;
  }
  affected_rows_ = mysql_stmt_affected_rows(stmt_);
  mysql_stmt_free_result(stmt_);
  return std::nullopt;
}

std::optional<MySqlError> MySqlStatement::execute() {
  affected_rows_ = 0;
  if (auto e = send()) {
    return e;
  }
  affected_rows_ = mysql_stmt_affected_rows(stmt_);
  // A statement that unexpectedly returns rows must still be drained.
  mysql_stmt_free_result(stmt_);
  return std::nullopt;
}

MySqlResult<MySqlRows> MySqlStatement::query() {
  using R = MySqlResult<MySqlRows>;
  affected_rows_ = 0;
  if (auto e = send()) {
    return R::failure(std::move(*e));
  }
  R out;
  MYSQL_RES* meta = mysql_stmt_result_metadata(stmt_);
  if (meta == nullptr) {
    mysql_stmt_free_result(stmt_);
    return out;
  }
  my_bool update_max = 1;
  mysql_stmt_attr_set(stmt_, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
  if (mysql_stmt_store_result(stmt_) != 0) {
    mysql_free_result(meta);
    return R::failure(take_error());
  }
  const unsigned n = mysql_num_fields(meta);
  MYSQL_FIELD* fields = mysql_fetch_fields(meta);
  std::vector<MYSQL_BIND> binds(n);
  std::vector<std::string> buffers(n);
  std::vector<unsigned long> lengths(n);
  std::vector<my_bool> nulls(n);
  for (unsigned i = 0; i < n; ++i) {
    out.value.columns.emplace_back(fields[i].name);
    // Numbers and dates are converted to text by the client library; leave room for that.
    buffers[i].resize(std::max<unsigned long>(fields[i].max_length, 64) + 1);
    binds[i].buffer_type = MYSQL_TYPE_STRING;
    binds[i].buffer = buffers[i].data();
    binds[i].buffer_length = static_cast<unsigned long>(buffers[i].size());
    binds[i].length = &lengths[i];
    binds[i].is_null = &nulls[i];
  }
  mysql_free_result(meta);
  if (mysql_stmt_bind_result(stmt_, binds.data()) != 0) {
    MySqlError e = take_error();
    mysql_stmt_free_result(stmt_);
    return R::failure(std::move(e));
  }
  while (true) {
    int rc = mysql_stmt_fetch(stmt_);
    if (rc == MYSQL_NO_DATA) {
      break;
    }
    if (rc == 1) {
      MySqlError e = take_error();
      mysql_stmt_free_result(stmt_);
      return R::failure(std::move(e));
    }
    auto& row = out.value.rows.emplace_back();
    row.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      if (nulls[i]) {
        row.emplace_back(std::nullopt);
        continue;
      }
      if (lengths[i] > buffers[i].size()) {  // MYSQL_DATA_TRUNCATED: fetch the column whole
        std::string whole(lengths[i], '\0');
        MYSQL_BIND col{};
        col.buffer_type = MYSQL_TYPE_STRING;
        col.buffer = whole.data();
        col.buffer_length = lengths[i];
        mysql_stmt_fetch_column(stmt_, &col, i, 0);
        row.emplace_back(std::move(whole));
      } else {
        row.emplace_back(std::string(buffers[i].data(), lengths[i]));
      }
    }
  }
  mysql_stmt_free_result(stmt_);
  return out;
}

}  // namespace gatewayd
