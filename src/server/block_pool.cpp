#include "server/block_pool.hpp"

namespace gatewayd {

BlockPool::~BlockPool() {
  for (char* block : free_) delete[] block;
}

char* BlockPool::take() {
  if (free_.empty()) return new char[kBlockSize];
  char* block = free_.back();
  free_.pop_back();
  return block;
}

void BlockPool::give(char* block) noexcept {
  if (block == nullptr) return;
  if (free_.size() < max_idle_) {
    free_.push_back(block);  // never reallocates: reserved for max_idle_ in the constructor
    return;
  }
  delete[] block;
}

}  // namespace gatewayd
