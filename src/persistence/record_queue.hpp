#pragma once
// Bounded multi-producer queue of records between the workers and the writer thread. Producers
// never wait: try_push() fails at once when the queue is full (the caller then spills the record
// to the spool). Lock-free ring with a sequence number per cell (Vyukov's bounded MPMC design):
// one CAS per push or pop, one allocation per record (the box a cell points to).
#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "gatewayd/records.hpp"

namespace gatewayd::persistence {

class RecordQueue {
 public:
  // Capacity is rounded up to a power of two (at least 2).
  explicit RecordQueue(std::size_t capacity);
  RecordQueue(const RecordQueue&) = delete;
  RecordQueue& operator=(const RecordQueue&) = delete;

  // Moves from `record` only on success; on failure (full) the caller still owns it.
  bool try_push(Record& record) noexcept;
  bool try_pop(Record& out) noexcept;
  // Pops up to `max` records, appended to `out`. Returns how many.
  std::size_t pop_batch(std::vector<Record>& out, std::size_t max);

  // Exact when no push or pop is in flight; a snapshot otherwise.
  std::size_t size() const noexcept;
  std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  // A cell holds a pointer, not the record: an idle queue of 64 Ki cells costs 1 MiB instead
  // of 64 Ki records' worth, and memory follows the depth actually used.
  struct Cell {
    std::atomic<std::size_t> sequence{0};
    std::unique_ptr<Record> value;
  };
  // Producers and the consumer touch different cache lines.
  static constexpr std::size_t kLine = 64;

  std::unique_ptr<Cell[]> cells_;
  std::size_t mask_;
  alignas(kLine) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(kLine) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace gatewayd::persistence
