#include "persistence/record_queue.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace gatewayd::persistence {
namespace {

Record request(std::string id) {
  RequestRecord r;
  r.request_id = std::move(id);
  return r;
}

TEST(RecordQueue, BoundedFifoThatNeverConsumesOnFailure) {
  RecordQueue q(3);  // rounded up to 4
  EXPECT_EQ(q.capacity(), 4u);
  for (int i = 0; i < 4; ++i) {
    Record r = request("r" + std::to_string(i));
    ASSERT_TRUE(q.try_push(r));
  }
  Record extra = request("extra");
  EXPECT_FALSE(q.try_push(extra));
  EXPECT_EQ(std::get<RequestRecord>(extra).request_id, "extra");  // still ours
  EXPECT_EQ(q.size(), 4u);

  std::vector<Record> out;
  EXPECT_EQ(q.pop_batch(out, 3), 3u);
  EXPECT_EQ(std::get<RequestRecord>(out[0]).request_id, "r0");
  EXPECT_EQ(std::get<RequestRecord>(out[2]).request_id, "r2");
  EXPECT_TRUE(q.try_push(extra));
  Record r;
  ASSERT_TRUE(q.try_pop(r));
  EXPECT_EQ(std::get<RequestRecord>(r).request_id, "r3");
  ASSERT_TRUE(q.try_pop(r));
  EXPECT_EQ(std::get<RequestRecord>(r).request_id, "extra");
  EXPECT_FALSE(q.try_pop(r));
  EXPECT_EQ(q.size(), 0u);
}

TEST(RecordQueue, ConcurrentProducersLoseNothing) {
  RecordQueue q(1024);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<int> rejected{0};
  std::atomic<bool> done{false};
  std::set<std::string> seen;
  std::thread consumer([&] {
    Record r;
    while (true) {
      if (q.try_pop(r)) {
        seen.insert(std::get<RequestRecord>(r).request_id);
      } else if (done.load()) {
        if (!q.try_pop(r)) break;
        seen.insert(std::get<RequestRecord>(r).request_id);
      }
    }
  });
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Record r = request(std::to_string(t) + ":" + std::to_string(i));
        while (!q.try_push(r)) {
          rejected.fetch_add(1);
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& p : producers) p.join();
  done = true;
  consumer.join();
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace gatewayd::persistence
