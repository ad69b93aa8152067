// Shutdown under load, for the ThreadSanitizer run of tools/sanitize.sh (and as a plain
// test): several source threads push through QueueIngest into a small queue while the
// worker drains. Producers blocked on the full queue must be released by the drain, and
// every record a producer saw accepted must have been processed by the worker: nothing
// taken is lost, nothing is counted twice.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "mscred/connectors/record.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/worker.h"

namespace {

using mscred::connectors::Record;
using mscred::daemon::QueueIngest;
using mscred::daemon::RecordQueue;
using mscred::daemon::Worker;

mscred::daemon::Config small_config() {
  return mscred::daemon::parse_config(R"(
sources: [{type: file, path: /dev/null}]
models:
  - name: fake
    fake: {sensors: [a, b], level: 100}
entities: {unknown: default, default_model: fake}
pipeline: {scales: [2, 4], step: 2, history: 2}
worker: {max_batch: 8, max_wait_ms: 1, queue_capacity: 16}
)",
                                      "shutdown_test.yaml");
}

TEST(ShutdownRaceTest, DrainReleasesBlockedProducersAndLosesNothingTaken) {
  const auto config = small_config();
  RecordQueue queue(config.worker.queue_capacity);
  QueueIngest ingest(queue, nullptr);
  Worker worker(config, queue, {}, nullptr);
  worker.start();

  constexpr int kProducers = 4;
  std::atomic<uint64_t> accepted{0};
  std::atomic<bool> go{true};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      // Each producer owns one entity, so its timestamps are strictly increasing.
      for (int i = 1; go.load(); ++i) {
        Record r;
        r.entity = "e" + std::to_string(p);
        r.ts = i;
        r.values = {0.5 * i, -0.25 * i};
        r.source = "race";
        if (!ingest.push(std::move(r))) return;  // closed: shutdown reached this producer
        accepted.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Shutdown order of the daemon: the worker drains (closing the queue) while sources may
  // still be pushing; then the sources stop.
  const bool in_time = worker.drain(std::chrono::steady_clock::now() + std::chrono::seconds(20));
  go = false;
  for (auto& t : producers)
    t.join();

  EXPECT_TRUE(in_time);
  EXPECT_GT(accepted.load(), 0u);
  EXPECT_EQ(worker.stats().records.load(), accepted.load());
  EXPECT_EQ(ingest.pushed(), accepted.load());
  EXPECT_EQ(worker.stats().rejected.load(), 0u);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(ShutdownRaceTest, TryPushNeverBlocksAndNeverLosesAnAcceptedRecord) {
  RecordQueue queue(4);
  std::atomic<uint64_t> taken{0}, refused{0}, popped{0};
  std::thread consumer([&] {
    Record r;
    while (queue.pop_for(r, std::chrono::milliseconds(50)) != RecordQueue::PopResult::kClosed)
      if (!r.entity.empty()) {
        popped.fetch_add(1);
        r.entity.clear();
      }
  });
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        Record r;
        r.entity = "e";
        if (queue.try_push(r)) {
          taken.fetch_add(1);
        } else {
          refused.fetch_add(1);
          EXPECT_EQ(r.entity, "e");  // a refused record is left with the caller
        }
      }
    });
  }
  for (auto& t : producers)
    t.join();
  queue.close();
  consumer.join();
  EXPECT_EQ(taken.load() + refused.load(), 6000u);
  EXPECT_EQ(popped.load(), taken.load());
}

}  // namespace
