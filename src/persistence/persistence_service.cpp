#include "persistence/persistence_service.hpp"

#include <pthread.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "gatewayd/logging.hpp"
#include "gatewayd/metrics.hpp"
#include "persistence/mysql_writer.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/record_queue.hpp"
#include "persistence/spool_file.hpp"

namespace gatewayd::persistence {
namespace {

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view db_state_name(DbState s) noexcept {
  switch (s) {
    case DbState::kUp:
      return "up";
    case DbState::kDegraded:
      return "degraded";
    case DbState::kDisabled:
      return "disabled";
  }
  return "degraded";
}

// Process-wide metric families (shared by every service instance, like every other module's).
struct PersistenceService::Metrics {
  explicit Metrics(metrics::Registry& r)
      : written(r.counter("gatewayd_persistence_records_written_total",
                          "Records committed to MySQL (replayed ones included)")),
        spooled(r.counter("gatewayd_persistence_records_spooled_total",
                          "Records appended to the local spool file")),
        spilled(r.counter("gatewayd_persistence_records_spilled_total",
                          "Records spooled directly because the in-memory queue was full")),
        replayed(r.counter("gatewayd_persistence_records_replayed_total",
                           "Records committed to MySQL from the spool")),
        dropped(r.counter("gatewayd_persistence_records_dropped_total",
                          "Records lost because the spool was full or unwritable")),
        rejected(
            r.counter("gatewayd_persistence_records_rejected_total",
                      "Records the database refused for their data, kept in the rejects file")),
        replay_runs(r.counter("gatewayd_persistence_replay_runs_total", "Spool replays started")),
        write_errors(r.counter("gatewayd_persistence_write_errors_total",
                               "Failed database writes and connection attempts")),
        queue_depth(r.gauge("gatewayd_persistence_queue_depth", "Records waiting in memory")),
        queue_capacity(r.gauge("gatewayd_persistence_queue_capacity", "Bound of the record queue")),
        spool_bytes(r.gauge("gatewayd_persistence_spool_bytes",
                            "Bytes of records in the spool waiting for the database")),
        last_write(r.gauge("gatewayd_persistence_last_write_timestamp_seconds",
                           "Unix time of the last successful database commit")),
        state_up(r.gauge("gatewayd_persistence_db_state", "Database state (1 = current)",
                         {{"state", "up"}})),
        state_degraded(r.gauge("gatewayd_persistence_db_state", "Database state (1 = current)",
                               {{"state", "degraded"}})),
        state_disabled(r.gauge("gatewayd_persistence_db_state", "Database state (1 = current)",
                               {{"state", "disabled"}})) {}

  metrics::Counter &written, &spooled, &spilled, &replayed, &dropped, &rejected, &replay_runs,
      &write_errors;
  metrics::Gauge &queue_depth, &queue_capacity, &spool_bytes, &last_write, &state_up,
      &state_degraded, &state_disabled;
};

PersistenceService::PersistenceService(PersistenceOptions options) : options_(std::move(options)) {
  options_.batch_size = std::max<std::size_t>(options_.batch_size, 1);
  options_.flush_interval = std::max(options_.flush_interval, std::chrono::milliseconds(1));
  options_.reconnect_min = std::max(options_.reconnect_min, std::chrono::milliseconds(1));
  options_.reconnect_max = std::max(options_.reconnect_max, options_.reconnect_min);
  queue_ = std::make_unique<RecordQueue>(options_.queue_capacity);
  spool_ = std::make_unique<SpoolFile>(options_.spool_path, options_.spool_max_bytes);
  writer_ = std::make_unique<MySqlWriter>(options_.mysql, options_.node_id, options_.batch_size);
  if (options_.register_metrics) {
    metrics_ = std::make_shared<Metrics>(metrics::Registry::global());
    metrics_->queue_capacity.set(static_cast<double>(queue_->capacity()));
  }
  backoff_ = options_.reconnect_min;
  set_state(options_.enabled ? DbState::kDegraded : DbState::kDisabled);
  if (!spool_->empty()) {
    logging::app().info("persistence: spool {} holds {} records ({} bytes) from an earlier run",
                        options_.spool_path.string(), spool_->pending_records(),
                        spool_->pending_bytes());
  }
}

PersistenceService::~PersistenceService() {
  stop();
}

void PersistenceService::start() {
  if (running_.exchange(true)) {
    return;
  }
  stop_requested_ = false;
  thread_ = std::thread([this] {
    // Named so that per-thread CPU accounting (top -H, /proc/PID/task, perf) can tell it apart.
    ::pthread_setname_np(::pthread_self(), "gw-records");
    run();
  });
}

void PersistenceService::stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lock(wake_mutex_);
    stop_deadline_ = std::chrono::steady_clock::now() + deadline;
    stop_requested_ = true;
  }
  wake_cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  running_ = false;
  // Records queued without a writer (never started, or pushed while it was finishing) are kept.
  std::vector<Record> rest;
  const std::size_t n = queue_->pop_batch(rest, queue_->capacity());
  if (n > 0) {
    spool_batch(rest, true);
    if (!options_.enabled) {
      for (const Record& r : rest) {
        mirror_audit(r);
      }
    }
    mark_handled(n);
  }
}

void PersistenceService::wake() noexcept {
  if (!wake_requested_.exchange(true)) {
    std::lock_guard lock(wake_mutex_);
    wake_cv_.notify_one();
  }
}

bool PersistenceService::sampled_in(const RequestRecord& r, double rate) noexcept {
  if (rate >= 1.0 || r.status_code >= 400 || !r.error_code.empty()) {
    return true;
  }
  if (rate <= 0.0) {
    return false;
  }
  // FNV-1a of the request id, mapped to [0, 1).
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char ch : r.request_id) {
    h = (h ^ ch) * 1099511628211ULL;
  }
  return static_cast<double>(h >> 11) * 0x1.0p-53 < rate;
}

void PersistenceService::submit(Record record) noexcept {
  if (const auto* req = std::get_if<RequestRecord>(&record);
      req != nullptr && !sampled_in(*req, options_.request_sample_rate)) {
    sampled_out_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  submitted_.fetch_add(1, std::memory_order_relaxed);
  if (!stop_requested_.load(std::memory_order_relaxed) && queue_->try_push(record)) {
    if (queue_->size() >= options_.batch_size) {
      wake();
    }
    return;
  }
  // Queue full (or the writer is gone): straight to the spool, a buffered write the writer
  // thread syncs on its next pass (or synced now when there is no writer any more).
  const bool no_writer = !running_.load(std::memory_order_relaxed);
  SpoolFile::AppendResult r = spool_->append(record, no_writer);
  if (r == SpoolFile::AppendResult::kOk) {
    spooled_.fetch_add(1, std::memory_order_relaxed);
    spilled_.fetch_add(1, std::memory_order_relaxed);
    if (metrics_) {
      metrics_->spooled.inc();
      metrics_->spilled.inc();
    }
    if (!options_.enabled) {
      mirror_audit(record);
    }
  } else {
    drop(record, r == SpoolFile::AppendResult::kFull ? "spool full" : "spool write failed");
  }
  mark_handled(1);
  wake();
}

void PersistenceService::mark_handled(std::uint64_t n) {
  handled_.fetch_add(n, std::memory_order_acq_rel);
  std::lock_guard lock(progress_mutex_);
  progress_cv_.notify_all();
}

bool PersistenceService::flush(std::chrono::milliseconds timeout) {
  const std::uint64_t target = submitted_.load(std::memory_order_acquire);
  wake();
  std::unique_lock lock(progress_mutex_);
  return progress_cv_.wait_for(lock, timeout,
                               [&] { return handled_.load(std::memory_order_acquire) >= target; });
}

PersistenceStats PersistenceService::stats() const {
  PersistenceStats s;
  s.queue_depth = queue_->size();
  s.queue_capacity = queue_->capacity();
  s.records_submitted = submitted_.load();
  s.records_written = written_.load();
  s.records_spooled = spooled_.load();
  s.records_spilled = spilled_.load();
  s.records_replayed = replayed_.load();
  s.records_dropped = dropped_.load();
  s.records_rejected = rejected_.load();
  s.records_sampled_out = sampled_out_.load();
  s.spool_bytes = spool_->pending_bytes();
  s.spool_records = spool_->pending_records();
  s.replay_runs = replay_runs_.load();
  s.write_errors = write_errors_.load();
  s.batches_written = batches_.load();
  s.last_successful_write = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(last_write_us_.load())));
  s.db_state = state_.load();
  return s;
}

void PersistenceService::set_state(DbState s) {
  DbState old = state_.exchange(s);
  if (metrics_) {
    metrics_->state_up.set(s == DbState::kUp ? 1 : 0);
    metrics_->state_degraded.set(s == DbState::kDegraded ? 1 : 0);
    metrics_->state_disabled.set(s == DbState::kDisabled ? 1 : 0);
  }
  // Going down is logged with its cause by on_write_failure().
  if (old != s && s == DbState::kUp) {
    logging::app().info("persistence: database {} is up", describe(options_.mysql));
  }
}

void PersistenceService::drop(const Record& record, std::string_view why) noexcept {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  if (metrics_) {
    metrics_->dropped.inc();
  }
  mirror_audit(record);  // the audit trail survives even a full spool
  const std::int64_t now_s = now_us() / 1'000'000;
  std::int64_t last = last_drop_log_s_.load(std::memory_order_relaxed);
  if (now_s != last && last_drop_log_s_.compare_exchange_strong(last, now_s)) {
    try {
      logging::app().error(
          "persistence: record dropped ({}): spool {} holds {} of {} bytes; {} records dropped so "
          "far",
          why, options_.spool_path.string(), spool_->pending_bytes(), spool_->max_bytes(),
          dropped_.load());
    } catch (...) {  // logging must not take the caller down
    }
  }
}

void PersistenceService::mirror_audit(const Record& record) noexcept {
  const auto* a = std::get_if<AuditRecord>(&record);
  if (a == nullptr) {
    return;
  }
  try {
    nlohmann::json j = {{"user_id", a->user_id},
                        {"ip_address", a->ip_address},
                        {"user_agent", a->user_agent},
                        {"request_id", a->request_id}};
    auto details = nlohmann::json::parse(a->details_json, nullptr, false);
    j["details"] = details.is_discarded() ? nlohmann::json(a->details_json) : details;
    logging::log_audit(a->event_type,
                       j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } catch (...) {
  }
}

void PersistenceService::reject(const Record& record, std::string_view why) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  if (metrics_) {
    metrics_->rejected.inc();
  }
  auto path = options_.spool_path;
  path += ".rejected";
  try {
    if (!rejects_) {
      rejects_ = std::make_unique<SpoolFile>(path, options_.spool_max_bytes);
    }
    if (rejects_->append(record, true) != SpoolFile::AppendResult::kOk) {
      drop(record, "rejects file full or unwritable");
      return;
    }
  } catch (const std::exception& e) {
    logging::app().error("persistence: cannot open rejects file {}: {}", path.string(), e.what());
    drop(record, "rejects file unavailable");
    return;
  }
  logging::app().error("persistence: database refused a {} record ({}); kept in {}",
                       record_kind(record), why, path.string());
}

void PersistenceService::spool_batch(std::vector<Record>& batch, bool sync) {
  if (batch.empty()) {
    return;
  }
  SpoolFile::AppendResult r = spool_->append(batch, sync);
  if (r == SpoolFile::AppendResult::kOk) {
    spooled_.fetch_add(batch.size(), std::memory_order_relaxed);
    if (metrics_) {
      metrics_->spooled.inc(batch.size());
    }
  } else {
    // All-or-nothing failed (usually: the batch does not fit any more). Keep what fits.
    for (const Record& rec : batch) {
      SpoolFile::AppendResult one = spool_->append(rec, false);
      if (one == SpoolFile::AppendResult::kOk) {
        spooled_.fetch_add(1, std::memory_order_relaxed);
        if (metrics_) {
          metrics_->spooled.inc();
        }
      } else {
        drop(rec, one == SpoolFile::AppendResult::kFull ? "spool full" : "spool write failed");
      }
    }
    spool_->sync();
  }
}

void PersistenceService::on_write_failure(std::string_view what, const std::string& error) {
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  if (metrics_) {
    metrics_->write_errors.inc();
  }
  // Loud when the database goes away, then a reminder a minute while it stays away (a database
  // that was never reachable since start-up is reported too).
  const auto now = std::chrono::steady_clock::now();
  if (state_.load() == DbState::kUp || now - last_failure_log_ >= std::chrono::minutes(1)) {
    last_failure_log_ = now;
    logging::app().warn("persistence: {} failed: {}; records go to the spool {} ({} bytes)", what,
                        error, options_.spool_path.string(), spool_->pending_bytes());
  }
  writer_->disconnect();
  next_connect_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
  set_state(DbState::kDegraded);
}

void PersistenceService::on_written(std::size_t n, bool replayed) {
  written_.fetch_add(n, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t us = now_us();
  last_write_us_.store(us, std::memory_order_relaxed);
  if (replayed) {
    replayed_.fetch_add(n, std::memory_order_relaxed);
  }
  if (metrics_) {
    metrics_->written.inc(n);
    if (replayed) {
      metrics_->replayed.inc(n);
    }
    metrics_->last_write.set(static_cast<double>(us) / 1e6);
  }
}

void PersistenceService::maintain_connection() {
  if (writer_->connected() || std::chrono::steady_clock::now() < next_connect_) {
    return;
  }
  if (auto e = writer_->connect()) {
    on_write_failure("connecting to " + describe(options_.mysql), e->describe());
    return;
  }
  backoff_ = options_.reconnect_min;
  replay_generation_.clear();  // re-read the checkpoint: another run may have progressed
  set_state(DbState::kUp);
}

// Writes records one by one after their batch was refused for its data, so one bad record does
// not hold back the others. `offsets` (replay only) carries each record's spool checkpoint.
void PersistenceService::write_isolated(std::vector<Record>& batch,
                                        const std::vector<std::uint64_t>* offsets) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::optional<MySqlWriter::Checkpoint> cp;
    if (offsets != nullptr) {
      cp = MySqlWriter::Checkpoint{replay_generation_, (*offsets)[i]};
    }
    auto e = writer_->write(std::span<const Record>(&batch[i], 1), cp);
    if (!e) {
      on_written(1, offsets != nullptr);
      if (offsets != nullptr) {
        replay_offset_ = (*offsets)[i];
      }
      continue;
    }
    if (e->data_error()) {
      reject(batch[i], e->describe());
      if (offsets != nullptr) {
        // Move the checkpoint past the rejected record too (it is safe in the rejects file).
        replay_offset_ = (*offsets)[i];
        if (writer_->write({}, MySqlWriter::Checkpoint{replay_generation_, replay_offset_})) {
          on_write_failure("saving the spool checkpoint", "after a rejected record");
          return;
        }
      }
      continue;
    }
    on_write_failure("writing records", e->describe());
    if (offsets == nullptr) {
      std::vector<Record> rest(std::make_move_iterator(batch.begin() + static_cast<long>(i)),
                               std::make_move_iterator(batch.end()));
      spool_batch(rest, true);
    }
    return;
  }
}

void PersistenceService::write_live(std::vector<Record>& batch) {
  if (auto e = writer_->write(batch)) {
    if (e->data_error()) {
      write_isolated(batch, nullptr);
      return;
    }
    on_write_failure("writing records", e->describe());
    spool_batch(batch, true);
    return;
  }
  on_written(batch.size(), false);
}

// One step of replaying the spool: one batch committed with its checkpoint, or the truncation
// once everything is in. Returns false when the database failed.
bool PersistenceService::replay_step() {
  if (replay_generation_ != spool_->generation()) {
    auto cp = writer_->load_checkpoint(spool_->generation());
    if (!cp.ok()) {
      on_write_failure("reading the spool checkpoint", cp.error->describe());
      return false;
    }
    replay_generation_ = spool_->generation();
    replay_offset_ = std::max<std::uint64_t>(cp.value, spool_->data_begin());
    replay_runs_.fetch_add(1, std::memory_order_relaxed);
    if (metrics_) {
      metrics_->replay_runs.inc();
    }
    logging::app().info("persistence: replaying spool {} ({} records, {} bytes)",
                        options_.spool_path.string(), spool_->pending_records(),
                        spool_->pending_bytes());
  }
  SpoolFile::ReadResult read = spool_->read(replay_offset_, options_.batch_size);
  if (read.undecodable > 0) {
    logging::app().error("persistence: {} unreadable records skipped in spool {}", read.undecodable,
                         options_.spool_path.string());
  }
  if (read.entries.empty()) {
    if (read.io_error) {
      // The file changed under us (disk error): skip to the end rather than loop forever.
      logging::app().error("persistence: spool {} unreadable at offset {}; skipping to its end",
                           options_.spool_path.string(), replay_offset_);
      replay_offset_ = spool_->end_offset();
      return true;
    }
    replay_offset_ = read.next_offset;
    const std::string old_generation = replay_generation_;
    if (spool_->truncate_if_at(replay_offset_)) {
      writer_->forget_checkpoint(old_generation);
      logging::app().info("persistence: spool {} replayed and truncated",
                          options_.spool_path.string());
      replay_generation_.clear();
    } else if (spool_->end_offset() == replay_offset_) {
      // Nothing was appended, so the truncation itself failed (logged by the spool): try again
      // later instead of spinning.
      replay_paused_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    return true;
  }
  std::vector<Record> records;
  std::vector<std::uint64_t> offsets;
  records.reserve(read.entries.size());
  offsets.reserve(read.entries.size());
  for (auto& entry : read.entries) {
    records.push_back(std::move(entry.record));
    offsets.push_back(entry.end_offset);
  }
  auto e = writer_->write(records, MySqlWriter::Checkpoint{replay_generation_, read.next_offset});
  if (!e) {
    replay_offset_ = read.next_offset;
    on_written(records.size(), true);
    return true;
  }
  if (e->data_error()) {
    write_isolated(records, &offsets);
    return writer_->connected();
  }
  on_write_failure("replaying the spool", e->describe());
  return false;
}

void PersistenceService::wait_for_work() {
  auto timeout = options_.flush_interval;
  if (options_.enabled && !writer_->connected()) {
    auto until_connect = std::chrono::duration_cast<std::chrono::milliseconds>(
        next_connect_ - std::chrono::steady_clock::now());
    timeout = std::clamp(until_connect, std::chrono::milliseconds(1), timeout);
  }
  std::unique_lock lock(wake_mutex_);
  wake_cv_.wait_for(lock, timeout, [&] {
    return stop_requested_.load() || wake_requested_.load() ||
           queue_->size() >= options_.batch_size;
  });
  wake_requested_ = false;
}

void PersistenceService::run() {
  std::vector<Record> batch;
  batch.reserve(options_.batch_size);
  while (!stop_requested_.load()) {
    // Keep going without sleeping while there is a backlog to write.
    const bool backlog = queue_->size() >= options_.batch_size ||
                         (options_.enabled && writer_->connected() && !spool_->empty() &&
                          std::chrono::steady_clock::now() >= replay_paused_until_);
    if (!backlog) {
      wait_for_work();
    }
    if (stop_requested_.load()) {
      break;
    }
    if (options_.enabled) {
      maintain_connection();
      if (writer_->connected() && !spool_->empty() &&
          std::chrono::steady_clock::now() >= replay_paused_until_) {
        replay_step();
      }
    }
    batch.clear();
    const std::size_t n = queue_->pop_batch(batch, options_.batch_size);
    if (n > 0) {
      if (!options_.enabled) {
        spool_batch(batch, true);
        for (const Record& r : batch) {
          mirror_audit(r);
        }
      } else if (writer_->connected() && spool_->empty()) {
        write_live(batch);
      } else {
        spool_batch(batch, true);
      }
      mark_handled(n);
    }
    spool_->sync();  // records spilled by producers since the last pass
    if (metrics_) {
      metrics_->queue_depth.set(static_cast<double>(queue_->size()));
      metrics_->spool_bytes.set(static_cast<double>(spool_->pending_bytes()));
    }
  }

  // Shutdown: drain within the deadline (database if it is up and nothing waits in the spool,
  // else the spool); past the deadline everything left goes to the spool.
  std::chrono::steady_clock::time_point deadline;
  {
    std::lock_guard lock(wake_mutex_);
    deadline = stop_deadline_;
  }
  while (true) {
    batch.clear();
    const std::size_t n = queue_->pop_batch(batch, options_.batch_size);
    if (n == 0) {
      break;
    }
    if (options_.enabled && writer_->connected() && spool_->empty() &&
        std::chrono::steady_clock::now() < deadline) {
      write_live(batch);
    } else {
      spool_batch(batch, false);
      if (!options_.enabled) {
        for (const Record& r : batch) {
          mirror_audit(r);
        }
      }
    }
    mark_handled(n);
  }
  spool_->sync();
  writer_->disconnect();
  if (metrics_) {
    metrics_->queue_depth.set(0);
    metrics_->spool_bytes.set(static_cast<double>(spool_->pending_bytes()));
  }
  if (!spool_->empty()) {
    logging::app().info("persistence: stopped with {} records in spool {}",
                        spool_->pending_records(), options_.spool_path.string());
  }
}

}  // namespace gatewayd::persistence
