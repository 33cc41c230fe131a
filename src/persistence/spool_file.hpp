#pragma once
// The local append-only spool that holds records the database has not committed yet.
//
// Layout: a 41-byte header "GWSPOOL1" + 32 hex digits (the generation id) + "\n", then frames of
// [u32 length][u32 crc32 of payload][payload], little-endian, payload = encode_record(). The
// generation id changes at every truncation, so a replay checkpoint stored elsewhere (the
// spool_checkpoints table) can never apply to a later generation's offsets.
//
// Durability: append() writes each batch with one write(2) and, when asked, fdatasync(2). A crash
// mid-write leaves a torn last frame; opening the file detects it (short frame, bad length or bad
// checksum), copies the bad tail to "<path>.torn-<unix time>" for inspection, logs it and
// truncates the file to the last good frame. Nothing is ever overwritten in place.
//
// Size bound: past max_bytes, append() returns kFull and writes nothing; the caller decides what
// happens to those records (PersistenceService counts them as dropped and logs loudly).
//
// Threads: append()/sync() from any thread. read()/truncate_if_at() from a single reader thread.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gatewayd/records.hpp"

namespace gatewayd::persistence {

class SpoolFile {
 public:
  static constexpr std::size_t kHeaderBytes = 41;
  static constexpr std::size_t kFrameHeaderBytes = 8;
  // A frame longer than this is taken as corruption.
  static constexpr std::uint32_t kMaxPayloadBytes = 16 * 1024 * 1024;

  // Opens (creating folders and file as needed) and validates the file. Throws
  // std::runtime_error when it cannot be opened or created.
  SpoolFile(std::filesystem::path path, std::uint64_t max_bytes);
  ~SpoolFile();
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;

  enum class AppendResult { kOk, kFull, kIoError };
  // All-or-nothing: either every record is written or none.
  AppendResult append(std::span<const Record> records, bool sync);
  AppendResult append(const Record& record, bool sync) {
    return append(std::span<const Record>(&record, 1), sync);
  }
  // fdatasync when something was written since the last sync. False on I/O error.
  bool sync();

  struct Entry {
    Record record;
    std::uint64_t end_offset = 0;  // offset just past this frame
  };
  struct ReadResult {
    std::vector<Entry> entries;
    std::uint64_t next_offset = 0;  // where the next read starts (past skipped frames too)
    std::size_t undecodable = 0;    // frames with a valid checksum but not a known record
    bool io_error = false;
  };
  // Reads up to max_records frames from `offset` (>= data_begin()).
  ReadResult read(std::uint64_t offset, std::size_t max_records) const;
  // Empties the file and starts a new generation, but only when nothing was appended past
  // `offset` (so records spilled while a replay ran are never lost). True when truncated.
  bool truncate_if_at(std::uint64_t offset);

  const std::string& generation() const noexcept { return generation_; }
  std::uint64_t data_begin() const noexcept { return kHeaderBytes; }
  std::uint64_t end_offset() const;
  // Bytes of records (header excluded) and number of frames in the current generation.
  std::uint64_t pending_bytes() const;
  std::uint64_t pending_records() const;
  bool empty() const { return pending_bytes() == 0; }
  std::uint64_t max_bytes() const noexcept { return max_bytes_; }
  const std::filesystem::path& path() const noexcept { return path_; }

  // What open() found: frames kept, bytes of a torn/corrupt tail removed.
  std::uint64_t recovered_records() const noexcept { return recovered_records_; }
  std::uint64_t discarded_tail_bytes() const noexcept { return discarded_tail_bytes_; }

 private:
  void open_and_recover();
  // Empties the file and writes a header with a new generation id (mutex_ held, or during
  // construction). False on I/O error.
  bool start_generation();
  bool write_all(const std::string& data);

  std::filesystem::path path_;
  std::uint64_t max_bytes_;
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::uint64_t size_ = 0;  // file size, header included
  std::uint64_t records_ = 0;
  bool dirty_ = false;
  std::string generation_;
  std::uint64_t recovered_records_ = 0;
  std::uint64_t discarded_tail_bytes_ = 0;
};

}  // namespace gatewayd::persistence
