#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace gatewayd {

// Fixed-size I/O blocks recycled within one worker thread. Relaying a body takes one 32 KiB
// block per exchange, and reading a large body grows a connection's buffer to the same size.
// Taking those from malloc on every request and giving them back right after made glibc grow
// and trim the worker's heap again and again (brk/madvise, page faults on fresh pages): close
// to a fifth of the proxy's CPU in a profile. A bounded free list keeps what a busy worker
// needs and lets the rest go, so idle memory stays small. Not thread-safe: one per worker.
class BlockPool {
 public:
  static constexpr std::size_t kBlockSize = 32 * 1024;

  explicit BlockPool(std::size_t max_idle) : max_idle_(max_idle) { free_.reserve(max_idle); }
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  char* take();
  void give(char* block) noexcept;
  std::size_t idle() const noexcept { return free_.size(); }

 private:
  std::vector<char*> free_;
  std::size_t max_idle_;
};

struct BlockReturn {
  BlockPool* pool = nullptr;
  void operator()(char* block) const noexcept { pool->give(block); }
};
using Block = std::unique_ptr<char[], BlockReturn>;

inline Block take_block(BlockPool& pool) {
  return Block(pool.take(), BlockReturn{&pool});
}

// Allocator for Beast's flat buffers: allocations of exactly one block come from the pool (the
// size a buffer reaches when a body is read through it), every other size from the heap. A
// default-constructed allocator (no pool) is the plain heap.
template <class T>
class PooledAllocator {
 public:
  using value_type = T;

  PooledAllocator() noexcept = default;
  explicit PooledAllocator(BlockPool* pool) noexcept : pool_(pool) {}
  template <class U>
  PooledAllocator(const PooledAllocator<U>& other) noexcept : pool_(other.pool()) {}

  T* allocate(std::size_t n) {
    if (pool_ != nullptr && n * sizeof(T) == BlockPool::kBlockSize) {
      return reinterpret_cast<T*>(pool_->take());
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (pool_ != nullptr && n * sizeof(T) == BlockPool::kBlockSize) {
      pool_->give(reinterpret_cast<char*>(p));
      return;
    }
    ::operator delete(p);
  }
  BlockPool* pool() const noexcept { return pool_; }

  template <class U>
  bool operator==(const PooledAllocator<U>& other) const noexcept {
    return pool_ == other.pool();
  }

 private:
  BlockPool* pool_ = nullptr;
};

// The buffer of a client or upstream connection.
using IoBuffer = boost::beast::basic_flat_buffer<PooledAllocator<char>>;

}  // namespace gatewayd
