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
  std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
  while (true) {
    Cell& cell = cells_[pos & mask_];
    std::size_t seq = cell.sequence.load(std::memory_order_acquire);
    auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
    if (diff == 0) {
      if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        cell.value = std::move(record);
        cell.sequence.store(pos + 1, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      return false;  // the cell still holds an unconsumed record: full
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
        out = std::move(cell.value);
        cell.value = Record{};  // release the strings now, not when the cell is reused
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
