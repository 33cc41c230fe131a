#include "clients/mysql_error.hpp"

#include <mysqld_error.h>

namespace gatewayd {

bool MySqlError::data_error() const noexcept {
  switch (code) {
    case ER_BAD_NULL_ERROR:                   // 1048 column cannot be null
    case ER_PARSE_ERROR:                      // 1064 (a statement the gateway built: never retry)
    case ER_WARN_DATA_OUT_OF_RANGE:           // 1264
    case WARN_DATA_TRUNCATED:                 // 1265
    case ER_TRUNCATED_WRONG_VALUE:            // 1292 incorrect datetime value
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:  // 1366
    case ER_DATA_TOO_LONG:                    // 1406
    case ER_NET_PACKET_TOO_LARGE:  // 1153: the statement is too big for max_allowed_packet
    case 3140:                     // MySQL 8: invalid JSON text
    case 3819:                     // MySQL 8: check constraint violated
    case 4025:                     // MariaDB: CONSTRAINT failed
      return true;
    default:
      return false;
  }
}

int MySqlRows::column(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace gatewayd
