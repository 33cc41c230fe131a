// The worker's pool of 32 KiB I/O blocks and the allocator that lets Beast's flat buffers use it.
#include <gtest/gtest.h>

#include "server/block_pool.hpp"

namespace gatewayd {
namespace {

TEST(BlockPool, ReturnedBlocksAreReusedUpToTheBound) {
  BlockPool pool(2);
  char* a = pool.take();
  char* b = pool.take();
  char* c = pool.take();
  pool.give(a);
  pool.give(b);
  pool.give(c);  // over the bound: freed, not kept
  EXPECT_EQ(pool.idle(), 2u);
  char* again = pool.take();
  EXPECT_TRUE(again == a || again == b);
  EXPECT_EQ(pool.idle(), 1u);
  pool.give(again);
}

TEST(BlockPool, BlockHandleGivesItsBlockBack) {
  BlockPool pool(4);
  char* raw = nullptr;
  {
    Block block = take_block(pool);
    raw = block.get();
    block[BlockPool::kBlockSize - 1] = 'x';  // the whole block is writable
    EXPECT_EQ(pool.idle(), 0u);
  }
  EXPECT_EQ(pool.idle(), 1u);
  EXPECT_EQ(take_block(pool).get(), raw);
}

TEST(BlockPool, FlatBufferGrownToOneBlockTakesItFromThePool) {
  BlockPool pool(4);
  IoBuffer buffer(1 << 20, PooledAllocator<char>(&pool));
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(100), boost::asio::buffer("head", 4)));
  buffer.reserve(BlockPool::kBlockSize);
  EXPECT_EQ(buffer.capacity(), BlockPool::kBlockSize);
  EXPECT_EQ(buffer.size(), 4u);  // the bytes moved along
  buffer.consume(buffer.size());
  buffer.shrink_to_fit();  // what a session does between requests
  EXPECT_EQ(pool.idle(), 1u);
  buffer.reserve(BlockPool::kBlockSize);
  EXPECT_EQ(pool.idle(), 0u);  // taken again, not allocated
}

TEST(BlockPool, OtherSizesAndNoPoolUseTheHeap) {
  BlockPool pool(4);
  PooledAllocator<char> pooled(&pool);
  char* small = pooled.allocate(4096);
  pooled.deallocate(small, 4096);
  EXPECT_EQ(pool.idle(), 0u);

  PooledAllocator<char> plain;
  char* block = plain.allocate(BlockPool::kBlockSize);
  plain.deallocate(block, BlockPool::kBlockSize);
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_FALSE(plain == pooled);
}

}  // namespace
}  // namespace gatewayd
