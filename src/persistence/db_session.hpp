#pragma once
// One MySQL connection shared by the admin-side stores (routes, rate-limit rules, API keys).
// Admin calls are rare and run one at a time on the admin thread, so a single connection behind
// a mutex is enough; start-up loaders may use it from another thread, hence the lock. A
// connection that the server dropped while idle is only noticed on first use, so every call is
// retried once on a fresh connection.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "clients/mysql_connection.hpp"

namespace gatewayd::persistence {

// MySQL error numbers the stores translate into meaningful answers.
inline constexpr unsigned kMySqlDuplicateEntry = 1062;  // ER_DUP_ENTRY

class DbSession {
 public:
  explicit DbSession(MySqlOptions options) : connection_(std::move(options)) {}

  // Runs `fn(MySqlConnection&)`, which returns a MySqlResult<T>, on a connected connection.
  template <class Fn>
  auto run(Fn&& fn) -> decltype(fn(std::declval<MySqlConnection&>())) {
    using R = decltype(fn(std::declval<MySqlConnection&>()));
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
      if (!connection_.connected()) {
        if (auto e = connection_.connect()) return R::failure(std::move(*e));
      }
      R result = fn(connection_);
      if (result.ok() || attempt > 0 || !result.error->connection_lost()) return result;
    }
  }

  const MySqlOptions& options() const noexcept { return connection_.options(); }

 private:
  std::mutex mutex_;
  MySqlConnection connection_;
};

// Helpers for the text values of MySqlRows (NULL = nullopt).
std::string column_text(const std::optional<std::string>& v);
std::uint64_t column_u64(const std::optional<std::string>& v);
std::int64_t column_i64(const std::optional<std::string>& v);
bool column_bool(const std::optional<std::string>& v);
std::optional<std::uint32_t> column_optional_u32(const std::optional<std::string>& v);

// SELECT expression for a DATETIME(3) column as ISO 8601 UTC with microseconds; iso_millis()
// shortens the value to milliseconds ("2024-05-01T12:00:00.123Z"), the API's time format.
std::string iso_time_column(std::string_view column);
std::string iso_millis(const std::optional<std::string>& v);

// Runs a statement that changes rows of `table` by id; `found` tells whether the id exists even
// when MySQL reports no changed row (an UPDATE that sets the values a row already has).
MySqlResult<bool> row_exists(MySqlConnection& c, std::string_view table, std::uint64_t id);

}  // namespace gatewayd::persistence
