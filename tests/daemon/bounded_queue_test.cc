// The queue policy: full blocks the producer (never drops), close releases everyone.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "mscred/daemon/bounded_queue.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;

TEST(BoundedQueueTest, TryPushFailsWhenFullAndKeepsItem) {
  BoundedQueue<std::string> q(2);
  std::string a = "a", b = "b", c = "c";
  EXPECT_TRUE(q.try_push(a));
  EXPECT_TRUE(q.try_push(b));
  EXPECT_FALSE(q.try_push(c));
  EXPECT_EQ(c, "c");  // not moved from
  EXPECT_EQ(q.size(), 2u);
}

TEST(BoundedQueueTest, PushBlocksUntilThereIsRoom) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.push(1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.push(2);
    pushed = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(pushed.load());  // blocked: the queue is full
  int v = 0;
  ASSERT_EQ(q.pop_for(v, 1s), BoundedQueue<int>::PopResult::kItem);
  EXPECT_EQ(v, 1);
  producer.join();
  EXPECT_TRUE(pushed.load());
  ASSERT_EQ(q.pop_for(v, 1s), BoundedQueue<int>::PopResult::kItem);
  EXPECT_EQ(v, 2);  // nothing dropped, order kept
}

TEST(BoundedQueueTest, CloseReleasesBlockedProducer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.push(1));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = q.push(2) ? 1 : 0; });
  std::this_thread::sleep_for(20ms);
  q.close();
  producer.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(BoundedQueueTest, PopDrainsAfterCloseThenReportsClosed) {
  BoundedQueue<int> q(4);
  q.push(1);
  q.push(2);
  q.close();
  int v = 0;
  EXPECT_EQ(q.pop_for(v, 0ms), BoundedQueue<int>::PopResult::kItem);
  EXPECT_EQ(q.pop_for(v, 0ms), BoundedQueue<int>::PopResult::kItem);
  EXPECT_EQ(v, 2);
  EXPECT_EQ(q.pop_for(v, 0ms), BoundedQueue<int>::PopResult::kClosed);
}

TEST(BoundedQueueTest, PopTimesOutWhenEmpty) {
  BoundedQueue<int> q(4);
  int v = 0;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(q.pop_for(v, 20ms), BoundedQueue<int>::PopResult::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
}

}  // namespace
}  // namespace mscred::daemon
