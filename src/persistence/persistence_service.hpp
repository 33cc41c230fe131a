#pragma once
// The durable-record pipeline behind RecordSink:
//
//   workers ──submit()──▶ RecordQueue (bounded, lock-free) ──▶ writer thread ──▶ MySQL
//                │ full                                             │ DB down/slow
//                ▼                                                  ▼
//              SpoolFile (append-only, checksummed, in DATA_DIRECTORY) ◀──────┘
//
// - submit() never blocks on the database and never drops while the spool has room: a full
//   queue appends the record to the spool directly (a buffered write; the writer thread
//   fdatasyncs the spool on its next pass).
// - The writer drains the queue in batches (batch_size, or every flush_interval) and writes them
//   with MySqlWriter. While the spool holds records, the writer replays it first, in order, and
//   appends new batches behind it, so records reach the database in submission order (records
//   spilled by a full queue may overtake queued ones). Each replayed batch commits together with
//   its spool checkpoint (spool_checkpoints table), so a crash between a commit and the spool
//   truncation replays nothing twice; gateway_logs is unique on request_id on top of that.
// - Database errors: connection loss and timeouts put the batch in the spool and the writer
//   reconnects with exponential backoff; a batch rejected for its data (value too long, invalid
//   JSON, constraint) is retried record by record and the records that still fail are moved to
//   "<spool>.rejected" (same format) with an error log line.
// - Spool limit: past spool_max_bytes the spool accepts nothing more. Records that cannot be
//   queued, written or spooled are then dropped, counted (records_dropped,
//   gatewayd_persistence_records_dropped_total) and logged as errors (rate-limited); audit
//   records are still written to audit.log. This bounds the disk a long outage can take.
// - enabled=false (MYSQL_ENABLED=false): everything goes to the spool (replayed if the database
//   is enabled later) and audit records also go to audit.log.
// - stop() drains the queue to the database or the spool within a deadline, then syncs.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "clients/mysql_options.hpp"
#include "gatewayd/records.hpp"

namespace gatewayd::persistence {

class MySqlWriter;
class RecordQueue;
class SpoolFile;

struct PersistenceOptions {
  bool enabled = true;  // MYSQL_ENABLED
  MySqlOptions mysql;
  std::size_t batch_size = 200;
  std::chrono::milliseconds flush_interval{1'000};
  std::size_t queue_capacity = 10'000;
  std::filesystem::path spool_path = "./data/records.spool";
  std::uint64_t spool_max_bytes = 512ULL * 1024 * 1024;
  std::string node_id;  // CLUSTER_NODE_ID, stored with log rows
  // REQUEST_LOG_SAMPLE_RATE: share of request records kept (0..1). The choice hashes the request
  // id, so every replica keeps the same requests; requests that failed (status >= 400 or an
  // error code) are always kept.
  double request_sample_rate = 1.0;
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
  // Publishes gatewayd_persistence_* metrics in metrics::Registry::global().
  bool register_metrics = true;
};

enum class DbState : std::uint8_t { kUp, kDegraded, kDisabled };
std::string_view db_state_name(DbState s) noexcept;  // "up", "degraded", "disabled"

struct PersistenceStats {
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
  std::uint64_t records_submitted = 0;
  std::uint64_t records_written = 0;   // committed to the database (replayed ones included)
  std::uint64_t records_spooled = 0;   // appended to the spool (by the writer or by a full queue)
  std::uint64_t records_spilled = 0;   // of those, appended by submit() because the queue was full
  std::uint64_t records_replayed = 0;  // committed from the spool
  std::uint64_t records_dropped = 0;   // lost: spool full or unwritable
  std::uint64_t records_rejected = 0;  // refused by the database for their data, kept aside
  std::uint64_t records_sampled_out = 0;  // request records left out by request_sample_rate
  std::uint64_t spool_bytes = 0;
  std::uint64_t spool_records = 0;
  std::uint64_t replay_runs = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t batches_written = 0;
  std::chrono::system_clock::time_point last_successful_write{};  // epoch = never
  DbState db_state = DbState::kDegraded;
};

class PersistenceService final : public RecordSink {
 public:
  // Opens (and recovers) the spool. Throws std::runtime_error when the spool cannot be opened.
  explicit PersistenceService(PersistenceOptions options);
  ~PersistenceService() override;  // stop() with the default deadline
  PersistenceService(const PersistenceService&) = delete;
  PersistenceService& operator=(const PersistenceService&) = delete;

  // Starts the writer thread (records submitted before are kept in the queue).
  void start();
  // Drains and stops the writer; records still queued at the deadline go to the spool.
  void stop(std::chrono::milliseconds deadline = std::chrono::seconds(10));

  void submit(Record record) noexcept override;

  // Whether a request record is kept under `rate` (see request_sample_rate).
  static bool sampled_in(const RequestRecord& record, double rate) noexcept;

  PersistenceStats stats() const;
  DbState db_state() const noexcept { return state_.load(std::memory_order_relaxed); }
  const PersistenceOptions& options() const noexcept { return options_; }

  // Wakes the writer and waits until every record submitted before the call was written,
  // spooled or dropped. False on timeout. For shutdown paths and tests.
  bool flush(std::chrono::milliseconds timeout);

 private:
  struct Metrics;

  void run();
  void wake() noexcept;
  void wait_for_work();
  void maintain_connection();
  bool replay_step();
  void write_live(std::vector<Record>& batch);
  void write_isolated(std::vector<Record>& batch, const std::vector<std::uint64_t>* offsets);
  void spool_batch(std::vector<Record>& batch, bool sync);
  void drop(const Record& record, std::string_view why) noexcept;
  void reject(const Record& record, std::string_view why);
  void mirror_audit(const Record& record) noexcept;
  void on_write_failure(std::string_view what, const std::string& error);
  void on_written(std::size_t n, bool replayed);
  void mark_handled(std::uint64_t n);
  void set_state(DbState s);

  PersistenceOptions options_;
  std::unique_ptr<RecordQueue> queue_;
  std::unique_ptr<SpoolFile> spool_;
  std::unique_ptr<SpoolFile> rejects_;  // opened on first use
  std::unique_ptr<MySqlWriter> writer_;
  std::shared_ptr<Metrics> metrics_;

  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::chrono::steady_clock::time_point stop_deadline_{};

  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  std::atomic<bool> wake_requested_{false};

  std::mutex progress_mutex_;
  std::condition_variable progress_cv_;
  std::atomic<std::uint64_t> submitted_{0};
  std::atomic<std::uint64_t> handled_{0};

  std::atomic<DbState> state_{DbState::kDegraded};
  std::chrono::steady_clock::time_point next_connect_{};
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point last_failure_log_{};

  // Replay position (writer thread only).
  std::string replay_generation_;
  std::uint64_t replay_offset_ = 0;
  std::chrono::steady_clock::time_point replay_paused_until_{};

  std::atomic<std::uint64_t> written_{0}, spooled_{0}, spilled_{0}, replayed_{0}, dropped_{0},
      rejected_{0}, sampled_out_{0}, replay_runs_{0}, write_errors_{0}, batches_{0};
  std::atomic<std::int64_t> last_write_us_{0};
  std::atomic<std::int64_t> last_drop_log_s_{0};
};

}  // namespace gatewayd::persistence
