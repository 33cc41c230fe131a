#include "persistence/mysql_writer.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gatewayd::persistence {
namespace {

struct TableSql {
  const char* head;  // "INSERT ... (cols) VALUES "
  const char* row;   // "(?,?,...)"
  const char* tail;  // "" or " ON DUPLICATE KEY UPDATE ..."
};

// Indexed by MySqlWriter::Kind. VALUES(col) in ON DUPLICATE KEY UPDATE is accepted by MySQL 8
// (deprecated, still supported) and MariaDB; the "AS new" alias form is MySQL-only.
constexpr TableSql kTables[] = {
    {"INSERT IGNORE INTO gateway_logs (request_id, method, path, route, target_service, user_id, "
     "client_ip, status_code, response_time_ms, error_code, trace_id, node_id, created_at) VALUES ",
     "(?,?,?,?,?,?,?,?,?,?,?,?,?)", ""},
    {"INSERT IGNORE INTO audit_logs (event_type, user_id, ip_address, user_agent, details, "
     "request_id, node_id, created_at) VALUES ",
     "(?,?,?,?,?,?,?,?)", ""},
    {"INSERT INTO rate_limit_records (identifier, window_type, route_path, request_count, "
     "window_start, window_end) VALUES ",
     "(?,?,?,?,?,?)",
     " ON DUPLICATE KEY UPDATE request_count = request_count + VALUES(request_count), "
     "window_end = GREATEST(window_end, VALUES(window_end))"},
    {"INSERT INTO circuit_breaker_states (service_name, state, failure_count, success_count, "
     "last_failure_time, last_state_change) VALUES ",
     "(?,?,?,?,?,?)",
     " ON DUPLICATE KEY UPDATE state = VALUES(state), failure_count = VALUES(failure_count), "
     "success_count = VALUES(success_count), "
     "last_failure_time = COALESCE(VALUES(last_failure_time), last_failure_time), "
     "last_state_change = COALESCE(VALUES(last_state_change), last_state_change)"},
    {"INSERT INTO service_instances (service_name, instance_url, instance_id, weight, is_healthy, "
     "health_check_path, health_check_interval, last_health_check, failure_count, metadata) "
     "VALUES ",
     "(?,?,?,?,?,?,?,?,?,?)",
     " ON DUPLICATE KEY UPDATE instance_id = VALUES(instance_id), weight = VALUES(weight), "
     "is_healthy = VALUES(is_healthy), health_check_path = VALUES(health_check_path), "
     "health_check_interval = VALUES(health_check_interval), "
     "last_health_check = COALESCE(VALUES(last_health_check), last_health_check), "
     "failure_count = VALUES(failure_count), metadata = VALUES(metadata)"},
};

bool power_of_two(std::size_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

std::size_t chunk_index(std::size_t rows) {
  std::size_t i = 0;
  while ((std::size_t{1} << i) < rows) {
    ++i;
  }
  return i;
}

SystemTime or_now(SystemTime t) {
  return t.time_since_epoch().count() == 0 ? std::chrono::system_clock::now() : t;
}

// Column sizes from init_database.sql.
std::string_view c(std::string_view s, std::size_t n) {
  return clamp_utf8(s, n);
}

// JSON columns: valid JSON as given, anything else stored as a JSON string, empty as NULL.
void bind_json(MySqlStatement& st, const std::string& text, std::vector<std::string>& scratch) {
  if (text.empty()) {
    st.bind_null();
  } else if (nlohmann::json::accept(text)) {
    st.bind_text(text);
  } else {
    scratch.push_back(
        nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    st.bind_text(scratch.back());
  }
}

}  // namespace

std::string_view clamp_utf8(std::string_view s, std::size_t max_chars) noexcept {
  if (s.size() <= max_chars) {
    return s;  // at most one byte per character: already short enough
  }
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (chars == max_chars) {
      return s.substr(0, i);
    }
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80           ? 1
                      : (b >> 5) == 0x6  ? 2
                      : (b >> 4) == 0xE  ? 3
                      : (b >> 3) == 0x1E ? 4
                                         : 1;
    i += len;
    ++chars;
  }
  return s.substr(0, std::min(i, s.size()));
}

MySqlWriter::MySqlWriter(MySqlOptions options, std::string node_id, std::size_t preferred_rows)
    : connection_(std::move(options)),
      node_id_(std::move(node_id)),
      preferred_rows_(std::clamp<std::size_t>(preferred_rows, 1, kMaxRowsPerStatement)) {}

std::size_t MySqlWriter::next_chunk(std::size_t remaining) const noexcept {
  if (bulk()) {
    // One prepared statement serves every chunk size.
    return std::min(remaining, kMaxRowsPerStatement);
  }
  if (remaining >= preferred_rows_) {
    return preferred_rows_;
  }
  return std::bit_floor(remaining);
}

MySqlWriter::~MySqlWriter() {
  disconnect();
}

std::optional<MySqlError> MySqlWriter::connect() {
  disconnect();
  return connection_.connect();
}

void MySqlWriter::disconnect() noexcept {
  // Statements belong to the connection: drop them first.
  for (auto& per_kind : statements_) {
    for (auto& st : per_kind) {
      st.reset();
    }
  }
  checkpoint_statement_.reset();
  connection_.close();
}

MySqlResult<MySqlStatement*> MySqlWriter::statement(Kind kind, std::size_t rows) {
  using R = MySqlResult<MySqlStatement*>;
  auto& slot = statements_[kind][power_of_two(rows) ? chunk_index(rows) : kChunkSizes - 1];
  if (!slot) {
    const TableSql& t = kTables[kind];
    std::string sql = t.head;
    for (std::size_t i = 0; i < rows; ++i) {
      if (i > 0) {
        sql.push_back(',');
      }
      sql.append(t.row);
    }
    sql.append(t.tail);
    auto prepared = connection_.prepare(sql);
    if (!prepared.ok()) {
      return R::failure(std::move(*prepared.error));
    }
    slot = std::move(prepared.value);
  }
  R out;
  out.value = slot.get();
  return out;
}

std::optional<MySqlError> MySqlWriter::write_kind(Kind kind,
                                                  std::span<const Record* const> records) {
  std::vector<std::string> scratch;
  std::size_t done = 0;
  while (done < records.size()) {
    const std::size_t rows = next_chunk(records.size() - done);
    scratch.clear();
    scratch.reserve(rows);  // bound views into it must not move
    const bool bulk_chunk = rows > 1 && bulk();
    auto st_result = statement(kind, bulk_chunk ? 1 : rows);
    if (!st_result.ok()) {
      return st_result.error;
    }
    MySqlStatement& st = *st_result.value;
    for (std::size_t i = done; i < done + rows; ++i) {
      const Record& rec = *records[i];
      switch (kind) {
        case kRequest: {
          const auto& r = std::get<RequestRecord>(rec);
          st.bind_text(c(r.request_id, 128))
              .bind_text(c(r.method, 16))
              .bind_text(c(r.path, 2048))
              .bind_text(c(r.route, 255))
              .bind_text(c(r.target_service, 128))
              .bind_text_or_null(c(r.user_id, 128))
              .bind_text(c(r.client_ip, 64))
              .bind_uint(r.status_code > 65535 ? 0 : r.status_code)
              .bind_double(r.response_time_ms)
              .bind_text_or_null(c(r.error_code, 64))
              .bind_text_or_null(c(r.trace_id, 64))
              .bind_text_or_null(c(node_id_, 64))
              .bind_time(or_now(r.created_at));
          break;
        }
        case kAudit: {
          const auto& r = std::get<AuditRecord>(rec);
          st.bind_text(c(r.event_type, 64))
              .bind_text_or_null(c(r.user_id, 128))
              .bind_text_or_null(c(r.ip_address, 64))
              .bind_text_or_null(c(r.user_agent, 512));
          bind_json(st, r.details_json, scratch);
          st.bind_text_or_null(c(r.request_id, 128))
              .bind_text_or_null(c(node_id_, 64))
              .bind_time(or_now(r.created_at));
          break;
        }
        case kRateLimit: {
          const auto& r = std::get<RateLimitRecord>(rec);
          st.bind_text(c(r.identifier, 255))
              .bind_text(c(r.window_type, 32))
              .bind_text(c(r.route_path, 255))
              .bind_uint(r.request_count)
              .bind_time(r.window_start)
              .bind_time(r.window_end);
          break;
        }
        case kCircuit: {
          const auto& r = std::get<CircuitStateRecord>(rec);
          st.bind_text(c(r.service_name, 128))
              .bind_text(c(r.state, 16))
              .bind_uint(r.failure_count)
              .bind_uint(r.success_count)
              .bind_time_or_null(r.last_failure_time)
              .bind_time_or_null(r.last_state_change);
          break;
        }
        case kInstance: {
          const auto& r = std::get<ServiceInstanceRecord>(rec);
          st.bind_text(c(r.service_name, 128))
              .bind_text(c(r.instance_url, 512))
              .bind_text_or_null(c(r.instance_id, 255))
              .bind_uint(r.weight)
              .bind_bool(r.is_healthy)
              .bind_text_or_null(c(r.health_check_path, 255))
              .bind_uint(r.health_check_interval)
              .bind_time_or_null(r.last_health_check)
              .bind_uint(r.failure_count);
          bind_json(st, r.metadata_json, scratch);
          break;
        }
        default:
          break;
      }
    }
    if (auto e = bulk_chunk ? st.execute_bulk(rows) : st.execute()) {
      return e;
    }
    ++statements_executed_;
    done += rows;
  }
  return std::nullopt;
}

std::optional<MySqlError> MySqlWriter::write(std::span<const Record> records,
                                             const std::optional<Checkpoint>& checkpoint) {
  if (!connection_.connected()) {
    return MySqlError{2006, "not connected"};
  }
  std::array<std::vector<const Record*>, kKinds> by_kind;
  for (const Record& r : records) {
    by_kind[r.index()].push_back(&r);
  }
  std::size_t statements = 0;
  for (const auto& kind : by_kind) {
    for (std::size_t left = kind.size(); left > 0; left -= next_chunk(left)) {
      ++statements;
    }
  }
  const bool transaction = statements > 1 || checkpoint.has_value();
  if (transaction) {
    if (auto e = connection_.begin()) {
      return e;
    }
    ++transactions_started_;
  }
  auto fail = [this, transaction](MySqlError e) -> std::optional<MySqlError> {
    if (transaction) {
      connection_.rollback();
    }
    if (!connection_.connected()) {
      disconnect();  // the statements died with the connection
    }
    return e;
  };
  for (std::size_t k = 0; k < kKinds; ++k) {
    if (!by_kind[k].empty()) {
      if (auto e = write_kind(static_cast<Kind>(k), by_kind[k])) {
        return fail(std::move(*e));
      }
    }
  }
  if (checkpoint) {
    if (!checkpoint_statement_) {
      auto prepared = connection_.prepare(
          "INSERT INTO spool_checkpoints (spool_id, committed_offset, node_id) VALUES (?,?,?) "
          "ON DUPLICATE KEY UPDATE committed_offset = VALUES(committed_offset)");
      if (!prepared.ok()) {
        return fail(std::move(*prepared.error));
      }
      checkpoint_statement_ = std::move(prepared.value);
    }
    checkpoint_statement_->bind_text(checkpoint->spool_id)
        .bind_uint(checkpoint->offset)
        .bind_text_or_null(c(node_id_, 64));
    if (auto e = checkpoint_statement_->execute()) {
      return fail(std::move(*e));
    }
  }
  if (transaction) {
    if (auto e = connection_.commit()) {
      return fail(std::move(*e));
    }
  }
  return std::nullopt;
}

MySqlResult<std::uint64_t> MySqlWriter::load_checkpoint(std::string_view spool_id) {
  using R = MySqlResult<std::uint64_t>;
  auto prepared =
      connection_.prepare("SELECT committed_offset FROM spool_checkpoints WHERE spool_id = ?");
  if (!prepared.ok()) {
    if (!connection_.connected()) {
      disconnect();
    }
    return R::failure(std::move(*prepared.error));
  }
  prepared.value->bind_text(spool_id);
  auto rows = prepared.value->query();
  if (!rows.ok()) {
    if (!connection_.connected()) {
      disconnect();
    }
    return R::failure(std::move(*rows.error));
  }
  R out;
  if (!rows.value.rows.empty() && rows.value.rows[0][0]) {
    out.value = std::stoull(*rows.value.rows[0][0]);
  }
  return out;
}

void MySqlWriter::forget_checkpoint(std::string_view spool_id) {
  auto prepared = connection_.prepare("DELETE FROM spool_checkpoints WHERE spool_id = ?");
  if (prepared.ok()) {
    prepared.value->bind_text(spool_id);
    (void)prepared.value->execute();
  }
  if (!connection_.connected()) {
    disconnect();
  }
}

}  // namespace gatewayd::persistence
