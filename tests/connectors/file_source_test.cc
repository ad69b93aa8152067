// File replay source: header names map columns by sensor name, bad rows are counted and
// skipped, and the entity comes from the options or the first column.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "mscred/connectors/file_source.h"

namespace mscred::connectors {
namespace {

using namespace std::chrono_literals;

class CollectingConsumer : public RecordConsumer {
 public:
  bool push(Record&& r) override {
    std::lock_guard lock(mutex_);
    records.push_back(std::move(r));
    return true;
  }
  bool push_for(Record& r, std::chrono::milliseconds) override { return push(std::move(r)); }
  void rejected(const char*, RejectReason reason) override {
    std::lock_guard lock(mutex_);
    rejects.push_back(reason);
  }
  std::vector<Record> records;
  std::vector<RejectReason> rejects;

 private:
  std::mutex mutex_;
};

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

void run_to_end(FileSource& source) {
  source.start();
  for (int i = 0; i < 500 && !source.finished(); ++i)
    std::this_thread::sleep_for(10ms);
  source.stop();
}

TEST(FileSourceTest, HeaderNamesSensorsAndBadRowsAreSkipped) {
  std::string path = write_file("fs_header.csv", "ts,b,a\n0,1,2\n1,x,3\n2,5,6\n");
  CollectingConsumer consumer;
  FileSourceOptions o;
  o.path = path;
  o.entity = "m1";
  FileSource source(o, consumer);
  run_to_end(source);
  ASSERT_TRUE(source.finished());
  ASSERT_EQ(consumer.records.size(), 2u);
  const Record& r = consumer.records[1];
  EXPECT_EQ(r.entity, "m1");
  EXPECT_DOUBLE_EQ(r.ts, 2.0);
  ASSERT_TRUE(r.is_named);
  ASSERT_EQ(r.named.size(), 2u);
  EXPECT_EQ(r.named[0].first, "b");
  EXPECT_DOUBLE_EQ(r.named[0].second, 5.0);
  EXPECT_EQ(r.named[1].first, "a");
  EXPECT_DOUBLE_EQ(r.named[1].second, 6.0);
  ASSERT_EQ(consumer.rejects.size(), 1u);
  EXPECT_EQ(consumer.rejects[0], RejectReason::kNonNumeric);
  EXPECT_EQ(source.lines(), 3u);
}

TEST(FileSourceTest, EntityColumnWithoutHeader) {
  std::string path = write_file("fs_entity.csv", "e1,0,1,2\ne2,0,3,4\n");
  CollectingConsumer consumer;
  FileSourceOptions o;
  o.path = path;
  FileSource source(o, consumer);
  run_to_end(source);
  ASSERT_EQ(consumer.records.size(), 2u);
  EXPECT_EQ(consumer.records[1].entity, "e2");
  EXPECT_FALSE(consumer.records[1].is_named);
  EXPECT_EQ(consumer.records[1].values, (std::vector<double>{3, 4}));
}

TEST(FileSourceTest, SpeedFactorPacesByTimestamp) {
  // ts spans 0.5 s; at 5x real time the replay takes >= 0.1 s.
  std::string path = write_file("fs_speed.csv", "0,1\n0.25,1\n0.5,1\n");
  CollectingConsumer consumer;
  FileSourceOptions o;
  o.path = path;
  o.entity = "e";
  o.speed = 5.0;
  FileSource source(o, consumer);
  auto t0 = std::chrono::steady_clock::now();
  run_to_end(source);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_EQ(consumer.records.size(), 3u);
}

TEST(FileSourceTest, MissingFileThrowsWithPath) {
  CollectingConsumer consumer;
  FileSourceOptions o;
  o.path = "/nonexistent/replay.csv";
  FileSource source(o, consumer);
  try {
    source.start();
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/replay.csv"), std::string::npos);
  }
}

}  // namespace
}  // namespace mscred::connectors
