// Kafka end to end on librdkafka's mock cluster: consumer group in, alerts topic out,
// offsets committed only for what was processed, and a restart that resumes exactly there.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "kafka_test_util.h"
#include "mscred/connectors/kafka_source.h"
#include "mscred/daemon/daemon.h"
#include "test_util.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;

const char* kEntities[] = {"e0", "e1", "e2"};

class KafkaIntegrationTest : public testing::MockKafkaTest {
 protected:
  KafkaIntegrationTest() : MockKafkaTest("3") {}

  // Samples [first, last) of every entity; entity i goes to partition i, keyed by entity.
  // Entity e1 gets a shock on sensor b at samples 30 and 31.
  void produce(int first, int last) {
    for (int p = 0; p < 3; ++p) {
      for (int i = first; i < last; ++i) {
        bool shock = p == 1 && (i == 30 || i == 31);
        std::string v = testing::json_record(kEntities[p], i, 1, shock ? 9 : 1, 1);
        ASSERT_EQ(
            rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC("samples"), RD_KAFKA_V_PARTITION(p),
                              RD_KAFKA_V_KEY(kEntities[p], 2), RD_KAFKA_V_VALUE(v.data(), v.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    }
    ASSERT_EQ(rd_kafka_flush(producer_, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // `rewind` is the source's rewind_records ("" = the default, auto).
  Config config(const std::string& rewind = "0") const {
    std::string yaml = R"(
sources:
  - type: kafka
    topics: [samples]
    group_id: mscred-test
    )" + (rewind.empty() ? std::string() : "rewind_records: " + rewind) +
                       R"(
    librdkafka:
      bootstrap.servers: ")" +
                       bootstraps_ + R"("
      session.timeout.ms: "6000"
      heartbeat.interval.ms: "200"
      log_level: "3"
models:
  - {name: m, fake: {sensors: [a, b, c], level: 5}}
entities: {unknown: default, default_model: m}
pipeline: {scales: [4, 8], step: 2, history: 2}
# A tiny queue makes the source pause its partitions (back-pressure) during the test.
worker: {max_batch: 8, max_wait_ms: 2, queue_capacity: 4}
sinks:
  log: {enabled: false}
  kafka:
    topic: alerts
    librdkafka:
      bootstrap.servers: ")" +
                       bootstraps_ + R"("
      log_level: "3"
metrics: {enabled: false}
health: {listen: "127.0.0.1:0"}
logging: {level: warn}
)";
    return parse_config(yaml, "kafka-test.yaml");
  }

  std::vector<int64_t> committed() {
    rd_kafka_t* c = testing::make_kafka_client(
        RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstraps_}, {"group.id", "mscred-test"}});
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; ++p)
      rd_kafka_topic_partition_list_add(list, "samples", p);
    EXPECT_EQ(rd_kafka_committed(c, list, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::vector<int64_t> out;
    for (int p = 0; p < 3; ++p)
      out.push_back(list->elems[p].offset);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(c);
    return out;
  }

  std::vector<nlohmann::json> alerts() {
    rd_kafka_t* c =
        testing::make_kafka_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstraps_},
                                                       {"group.id", "alert-reader"},
                                                       {"enable.partition.eof", "true"}});
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, "alerts", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<nlohmann::json> out;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (m == nullptr) continue;
      bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
      if (!m->err) {
        out.push_back(nlohmann::json::parse(std::string(static_cast<char*>(m->payload), m->len)));
        EXPECT_EQ(std::string(static_cast<char*>(m->key), m->key_len),
                  out.back()["labels"]["entity"].get<std::string>());
      }
      rd_kafka_message_destroy(m);
      if (eof) break;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }
};

// Window 10 samples, step 2. A fresh entity state that sees samples [first, last) scores
// the steps ending at first+9, first+11, ...; the samples after the last scored step
// are not finished, so the committed offset is first + 10 + 2 * (steps - 1).
struct Expect {
  int steps;
  int64_t committed;
};
Expect expect(int first, int last) {
  int n = last - first;
  int steps = n < 10 ? 0 : (n - 10) / 2 + 1;
  return {steps, steps == 0 ? first : first + 10 + 2 * (steps - 1)};
}

TEST_F(KafkaIntegrationTest, AtLeastOnceAcrossRestartWithoutDuplicatesOrGaps) {
  // Run 1: 41 samples per entity.
  produce(0, 41);
  const Expect run1 = expect(0, 41);  // 16 steps, committed 40
  uint64_t finished1 = 0;
  {
    Daemon d(config());
    d.start();
    ASSERT_TRUE(testing::wait_until(
        [&] { return d.worker().stats().steps_scored.load() >= 3u * run1.steps; }, 15s))
        << d.worker().stats().records.load() << " records";
    ASSERT_TRUE(testing::wait_until([&] { return d.worker().stats().records.load() >= 123; }, 5s));
    ASSERT_TRUE(d.shutdown());
    auto* source = dynamic_cast<connectors::KafkaSource*>(d.source("kafka"));
    ASSERT_NE(source, nullptr);
    EXPECT_EQ(source->consumed(), 123u);
    finished1 = source->finished();
    EXPECT_EQ(d.worker().stats().steps_scored.load(), 3u * run1.steps);
  }  // leaves the group
  EXPECT_EQ(finished1, 3u * run1.committed);
  EXPECT_EQ(committed(), (std::vector<int64_t>{run1.committed, run1.committed, run1.committed}));

  // Run 2: 20 more samples per entity; the restarted daemon must read exactly from the
  // committed offsets to the end (nothing re-read, nothing skipped).
  produce(41, 61);
  const Expect run2 = expect(run1.committed, 61);  // windows warm again from offset 40
  {
    Daemon d(config());
    d.start();
    auto* source = dynamic_cast<connectors::KafkaSource*>(d.source("kafka"));
    ASSERT_NE(source, nullptr);
    const uint64_t unread = 3u * (61 - run1.committed);
    ASSERT_TRUE(testing::wait_until([&] { return source->consumed() >= unread; }, 15s))
        << source->consumed();
    ASSERT_TRUE(testing::wait_until(
        [&] { return d.worker().stats().steps_scored.load() >= 3u * run2.steps; }, 5s));
    ASSERT_TRUE(d.shutdown());
    EXPECT_EQ(source->consumed(), unread);
    // Each produced sample was finished in run 1 or read in run 2, never both.
    EXPECT_EQ(finished1 + source->consumed(), 3u * 61);
    EXPECT_EQ(d.worker().stats().steps_scored.load(), 3u * run2.steps);
  }
  EXPECT_EQ(committed(), (std::vector<int64_t>{run2.committed, run2.committed, run2.committed}));

  // The one shock (e1, samples 30-31) produced exactly one alert on the alerts topic.
  auto got = alerts();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["labels"]["entity"], "e1");
  EXPECT_DOUBLE_EQ(got[0]["annotations"]["step_ts"].get<double>(), 31.0);
  EXPECT_EQ(got[0]["annotations"]["top_sensors"][0]["sensor"], "b");
}

// With the default rewind (one entity's warm-up: max(scales) + (h-1) * step = 10 records)
// the restarted daemon re-reads the 10 records before each committed offset only to warm
// the windows: the steps that the plain restart above leaves unscored (ending at 41..47,
// inside the warm-up) are scored now, none is scored twice, and the committed offset never
// moves back.
TEST_F(KafkaIntegrationTest, RewindWarmsTheWindowsSoNoStepIsLeftUnscored) {
  produce(0, 41);
  const Expect run1 = expect(0, 41);  // steps ending at 9, 11, ..., 39; committed 40
  {
    Daemon d(config(""));
    d.start();
    ASSERT_TRUE(testing::wait_until(
        [&] { return d.worker().stats().steps_scored.load() >= 3u * run1.steps; }, 15s));
    ASSERT_TRUE(testing::wait_until([&] { return d.worker().stats().records.load() >= 123; }, 5s));
    ASSERT_TRUE(d.shutdown());
    EXPECT_EQ(d.worker().stats().steps_scored.load(), 3u * run1.steps);
  }
  EXPECT_EQ(committed(), (std::vector<int64_t>{40, 40, 40}));

  produce(41, 61);
  {
    Daemon d(config(""));
    d.start();
    auto* source = dynamic_cast<connectors::KafkaSource*>(d.source("kafka"));
    ASSERT_NE(source, nullptr);
    const uint64_t expected_reads = 3u * (61 - 30);  // from 40 - 10 to the end
    ASSERT_TRUE(testing::wait_until([&] { return source->consumed() >= expected_reads; }, 15s))
        << source->consumed();
    // Steps ending at 41, 43, ..., 59: 10 per entity (the step ending at 39 is a replay).
    ASSERT_TRUE(
        testing::wait_until([&] { return d.worker().stats().steps_scored.load() >= 3u * 10; }, 5s));
    ASSERT_TRUE(d.shutdown());
    EXPECT_EQ(source->consumed(), expected_reads);
    EXPECT_EQ(d.worker().stats().steps_scored.load(), 3u * 10);
  }
  // The last scored step ends at 59: record 60 is unfinished.
  EXPECT_EQ(committed(), (std::vector<int64_t>{60, 60, 60}));
  // The shock's step (ending at 31) was scored in run 1 only: one alert, no duplicate.
  auto got = alerts();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_DOUBLE_EQ(got[0]["annotations"]["step_ts"].get<double>(), 31.0);
}

}  // namespace
}  // namespace mscred::daemon
