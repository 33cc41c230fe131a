#include "persistence/record_queue.hpp"

#include <bit>

namespace gatewayd::persistence {

RecordQueue::RecordQueue(std::size_t capacity) {
  std::size_t n = std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity);
  cells_ = std::make_unique<Cell[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    cells_[i].sequence.store(i, std::memory_order_relaxed);
  }
  mask_ = n - 1;
}

bool RecordQueue::try_push(Record& record) noexcept {
  // Boxed before a cell is claimed, so the window between claim and publish stays short.
  auto boxed = std::make_unique<Record>(std::move(record));
  std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
  while (true) {
    Cell& cell = cells_[pos & mask_];
    std::size_t seq = cell.sequence.load(std::memory_order_acquire);
    auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
    if (diff == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        cell.value = std::move(boxed);
        cell.sequence.store(pos + 1, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      record = std::move(*boxed);  // full: the caller keeps its record
      return false;
    } else {
      pos = enqueue_pos_.load(std::memory_order_relaxed);
    }
  }
}

bool RecordQueue::try_pop(Record& out) noexcept {
  std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
  while (true) {
    Cell& cell = cells_[pos & mask_];
    std::size_t seq = cell.sequence.load(std::memory_order_acquire);
    auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
    if (diff == 0) {
      if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        out = std::move(*cell.value);
        cell.value.reset();  // release the record now, not when the cell is reused
        cell.sequence.store(pos + mask_ + 1, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      return false;  // empty
    } else {
      pos = dequeue_pos_.load(std::memory_order_relaxed);
    }
  }
}

std::size_t RecordQueue::pop_batch(std::vector<Record>& out, std::size_t max) {
  std::size_t n = 0;
  Record r;
  while (n < max && try_pop(r)) {
    out.push_back(std::move(r));
    ++n;
  }
  return n;
}

std::size_t RecordQueue::size() const noexcept {
  std::size_t head = dequeue_pos_.load(std::memory_order_acquire);
  std::size_t tail = enqueue_pos_.load(std::memory_order_acquire);
  return tail >= head ? tail - head : 0;
}

}  // namespace gatewayd::persistence
