#pragma once
// Writes batches of records to MySQL/MariaDB: one transaction per batch, prepared INSERTs per
// record type and chunk.
// - MariaDB (the server advertises bulk operations): one single-row INSERT per record type,
//   executed for a whole chunk of rows in one command (MySqlStatement::execute_bulk). The
//   server then binds 13 parameters per row instead of one statement of rows × 13 parameters:
//   about 1 µs (10-15 %) less server CPU per gateway_logs row, and less work for this thread.
// - MySQL 8 (no bulk operations): one multi-row INSERT per chunk. A chunk has the writer's
//   preferred size (the batch size, at most kMaxRowsPerStatement) or, for what is left of a
//   type, a power of two, so a handful of statements per type are prepared once per connection
//   and reused.
// Either way a full batch of one type is a single statement. A batch that is one statement and
// carries no checkpoint runs without START TRANSACTION/COMMIT (a statement is atomic under
// autocommit): each round trip to the server costs the writer more than the rows it carries.
// Row semantics:
//   gateway_logs, audit_logs           INSERT IGNORE (gateway_logs is unique on request_id, so a
//                                      replayed row is not duplicated)
//   rate_limit_records                 upsert, counts add, window_end extends
//   circuit_breaker_states             upsert, the latest state wins
//   service_instances                  upsert by (service_name, instance_url)
// Text is clamped to the column sizes (on a UTF-8 boundary) and JSON columns get valid JSON, so a
// single odd value cannot make a batch fail forever.
// Not thread-safe: owned by the persistence writer thread.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "clients/mysql_connection.hpp"
#include "clients/mysql_statement.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd::persistence {

class MySqlWriter {
 public:
  // 512 rows of the widest gateway_logs row (2048-character path) stay under 5 MiB, within the
  // default max_allowed_packet of MySQL 8 (64 MiB) and MariaDB (16 MiB).
  static constexpr std::size_t kMaxRowsPerStatement = 512;

  // node_id is stored with gateway_logs/audit_logs rows (CLUSTER_NODE_ID). preferred_rows is the
  // chunk size tried first (the service's batch size).
  MySqlWriter(MySqlOptions options, std::string node_id,
              std::size_t preferred_rows = kMaxRowsPerStatement);
  ~MySqlWriter();

  std::optional<MySqlError> connect();
  void disconnect() noexcept;
  bool connected() const noexcept { return connection_.connected(); }

  // Replay progress committed with the rows: the spool generation and the offset just past the
  // last record of the batch.
  struct Checkpoint {
    std::string_view spool_id;
    std::uint64_t offset = 0;
  };
  // All records in one transaction (rolled back on any error).
  std::optional<MySqlError> write(std::span<const Record> records,
                                  const std::optional<Checkpoint>& checkpoint = std::nullopt);
  // The committed offset for a spool generation, 0 when there is none.
  MySqlResult<std::uint64_t> load_checkpoint(std::string_view spool_id);
  // Removes checkpoints of generations that no longer exist (best effort).
  void forget_checkpoint(std::string_view spool_id);

  std::uint64_t statements_executed() const noexcept { return statements_executed_; }
  std::uint64_t transactions_started() const noexcept { return transactions_started_; }
  // Rows of the next statement while `remaining` records of one type are left to write.
  std::size_t next_chunk(std::size_t remaining) const noexcept;

  // Bulk execution is used when the server supports it (true by default); false forces the
  // multi-row statements MySQL gets, so tests can run that path against MariaDB.
  void set_bulk_enabled(bool enabled) noexcept { bulk_enabled_ = enabled; }
  // Whether the current connection writes chunks with bulk execution.
  bool bulk() const noexcept { return bulk_enabled_ && connection_.supports_bulk(); }

 private:
  enum Kind : std::size_t { kRequest, kAudit, kRateLimit, kCircuit, kInstance, kKinds };
  // 1, 2, 4, ... 512, then one slot for a preferred size that is not a power of two.
  static constexpr std::size_t kChunkSizes = 11;

  MySqlResult<MySqlStatement*> statement(Kind kind, std::size_t rows);
  std::optional<MySqlError> write_kind(Kind kind, std::span<const Record* const> records);

  MySqlConnection connection_;
  std::string node_id_;
  std::size_t preferred_rows_;
  bool bulk_enabled_ = true;
  std::array<std::array<std::unique_ptr<MySqlStatement>, kChunkSizes>, kKinds> statements_;
  std::unique_ptr<MySqlStatement> checkpoint_statement_;
  std::uint64_t statements_executed_ = 0;
  std::uint64_t transactions_started_ = 0;
};

// The longest prefix of `s` with at most `max_chars` UTF-8 characters (never splits one).
std::string_view clamp_utf8(std::string_view s, std::size_t max_chars) noexcept;

}  // namespace gatewayd::persistence
