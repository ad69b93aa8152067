// Faults on librdkafka's mock cluster: the broker goes down mid-stream and comes back, the
// alert topic's partition loses its leader, and the real mscredd is killed with SIGKILL and
// restarted. After each the test counts, against an uninterrupted run worked out by hand:
// no sample skipped, every alert delivered at least once (except where a restart's
// documented warm-up means the step is never scored), duplicates bounded by what was in
// flight. The outage lasts MSCRED_FAULT_DOWN_S seconds (default 3; 30 by hand, see
// docs/robustness.md).
//
// Stream: entities e0, e1, e2 on partitions 0, 1, 2, samples 0..N-1, sensor b shocked (9 >
// level 5) at samples i with i % 20 in {10, 11}. Pipeline scales 4,8, step 2, history 2:
// a fresh state starting at sample f scores steps ending at f+9, f+11, ... and a step ending
// at e alerts iff rows e-1, e hold a shock, i.e. e % 20 == 11 (f even). So an uninterrupted
// run from 0 alerts at e = 11, 31, 51, ... for every entity.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "kafka_test_util.h"
#include "mscred/connectors/kafka_source.h"
#include "mscred/connectors/sinks.h"
#include "mscred/daemon/daemon.h"
#include "test_util.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;
using Alerts = std::map<std::pair<std::string, int>, int>;  // (entity, step_ts) -> copies

const char* kEntities[] = {"e0", "e1", "e2"};

int down_seconds() {
  const char* v = std::getenv("MSCRED_FAULT_DOWN_S");
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : 3;
}

// Steps a fresh state starting at `first` scores up to sample `last` (exclusive).
int steps_between(int first, int last) {
  int n = last - first;
  return n < 10 ? 0 : (n - 10) / 2 + 1;
}

bool alerting_step(int e) {
  return e % 20 == 11;
}

class KafkaFaultTest : public testing::MockKafkaTest {
 protected:
  KafkaFaultTest() : MockKafkaTest("0") {}

  void produce(int first, int last, bool flush = true) {
    for (int p = 0; p < 3; ++p) {
      for (int i = first; i < last; ++i) {
        bool shock = i % 20 == 10 || i % 20 == 11;
        std::string v = testing::json_record(kEntities[p], i, 1, shock ? 9 : 1, 1);
        ASSERT_EQ(
            rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC("samples"), RD_KAFKA_V_PARTITION(p),
                              RD_KAFKA_V_KEY(kEntities[p], 2), RD_KAFKA_V_VALUE(v.data(), v.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    }
    if (flush) {
      ASSERT_EQ(rd_kafka_flush(producer_, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }

  std::string yaml() const {
    return R"(
sources:
  - type: kafka
    topics: [samples]
    group_id: mscred-fault
    librdkafka:
      bootstrap.servers: ")" +
           bootstraps_ + R"("
      session.timeout.ms: "6000"
      heartbeat.interval.ms: "200"
      auto.commit.interval.ms: "200"
      reconnect.backoff.max.ms: "200"
      log_level: "0"
models:
  - {name: m, fake: {sensors: [a, b, c], level: 5}}
entities: {unknown: default, default_model: m}
pipeline: {scales: [4, 8], step: 2, history: 2}
worker: {max_batch: 8, max_wait_ms: 2, queue_capacity: 16}
sinks:
  log: {enabled: false}
  kafka:
    topic: alerts
    librdkafka:
      bootstrap.servers: ")" +
           bootstraps_ + R"("
      reconnect.backoff.max.ms: "200"
      retry.backoff.ms: "100"
      log_level: "0"
metrics: {enabled: false}
health: {listen: "127.0.0.1:0"}
logging: {level: error}
)";
  }

  std::vector<int64_t> committed() {
    rd_kafka_t* c = testing::make_kafka_client(
        RD_KAFKA_CONSUMER,
        {{"bootstrap.servers", bootstraps_}, {"group.id", "mscred-fault"}, {"log_level", "0"}});
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; ++p)
      rd_kafka_topic_partition_list_add(list, "samples", p);
    rd_kafka_resp_err_t err = rd_kafka_committed(c, list, 10000);
    std::vector<int64_t> out;
    for (int p = 0; p < 3; ++p)
      out.push_back(err ? -1 : list->elems[p].offset);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(c);
    return out;
  }

  Alerts alerts() {
    rd_kafka_t* c =
        testing::make_kafka_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstraps_},
                                                       {"group.id", "alert-reader"},
                                                       {"enable.partition.eof", "true"},
                                                       {"log_level", "0"}});
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, "alerts", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, list);
    rd_kafka_topic_partition_list_destroy(list);
    Alerts out;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (m == nullptr) continue;
      bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
      if (!m->err) {
        auto j = nlohmann::json::parse(std::string(static_cast<char*>(m->payload), m->len));
        ++out[{j["labels"]["entity"].get<std::string>(),
               static_cast<int>(j["annotations"]["step_ts"].get<double>())}];
      }
      rd_kafka_message_destroy(m);
      if (eof) break;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }

  // Every alert of an uninterrupted run of samples [0, last) is there at least once.
  static void expect_all_alerts(const Alerts& got, int last, int* duplicates) {
    *duplicates = 0;
    for (const char* e : kEntities) {
      for (int s = 9; s < last; s += 2) {
        if (!alerting_step(s)) continue;
        auto it = got.find({e, s});
        EXPECT_TRUE(it != got.end()) << "alert " << e << " step " << s << " missing";
      }
    }
    for (const auto& [key, copies] : got) {
      EXPECT_TRUE(alerting_step(key.second)) << key.first << " " << key.second;
      *duplicates += copies - 1;
    }
  }
};

TEST_F(KafkaFaultTest, BrokerDownMidStreamThenBackLosesNothing) {
  constexpr int kFirst = 60, kTotal = 120;
  produce(0, kFirst);
  Daemon d(parse_config(yaml(), "fault.yaml"));
  d.start();
  auto* source = dynamic_cast<connectors::KafkaSource*>(d.source("kafka"));
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(testing::wait_until([&] { return source->consumed() >= 3u * 20; }, 20s));

  // Down while the daemon is consuming; the rest of the stream is produced meanwhile
  // (librdkafka holds it until the broker is back).
  ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  produce(kFirst, kTotal, /*flush=*/false);
  std::this_thread::sleep_for(std::chrono::seconds(down_seconds()));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(producer_, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);

  const uint64_t steps = 3u * steps_between(0, kTotal);
  ASSERT_TRUE(
      testing::wait_until([&] { return d.worker().stats().steps_scored.load() >= steps; }, 60s))
      << d.worker().stats().steps_scored.load() << " of " << steps << " steps, "
      << source->consumed() << " records";
  ASSERT_TRUE(d.shutdown());
  int duplicates = 0;
  if (down_seconds() < 6) {
    // Shorter than session.timeout.ms: the group kept its assignment and the consumer
    // resumed where it was, so no sample was skipped and none was read twice.
    EXPECT_EQ(source->consumed(), 3u * kTotal);
    EXPECT_EQ(d.worker().stats().steps_scored.load(), steps);
    EXPECT_EQ(d.worker().stats().rejected.load(), 0u);
    auto got = alerts();
    expect_all_alerts(got, kTotal, &duplicates);
    EXPECT_EQ(duplicates, 0);  // the alert producer is idempotent (enable.idempotence)
    std::printf("broker down %d s: %zu alerts, %d duplicates, %llu records\n", down_seconds(),
                got.size(), duplicates, static_cast<unsigned long long>(source->consumed()));
  } else {
    // Longer (the by-hand 30 s run): the member may have been expired and the partitions
    // reassigned, which resets the entities and re-reads from the committed offsets
    // (duplicates, and a warm-up per entity). Nothing may be skipped.
    EXPECT_GE(source->consumed(), 3u * kTotal);
    auto got = alerts();
    for (const auto& [key, copies] : got)
      duplicates += copies - 1;
    std::printf(
        "broker down %d s: %zu distinct alerts (of %d), %d duplicates, %llu records "
        "consumed (of %d produced)\n",
        down_seconds(), got.size(), 3 * (kTotal / 20), duplicates,
        static_cast<unsigned long long>(source->consumed()), 3 * kTotal);
  }
}

TEST_F(KafkaFaultTest, AlertTopicWithoutLeaderDeliversOnceTheLeaderIsBack) {
  constexpr int kTotal = 60;
  // The alerts partition has no leader from the start: every alert waits in the producer.
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster_, "alerts", 0, -1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  produce(0, kTotal);
  Daemon d(parse_config(yaml(), "fault.yaml"));
  d.start();
  const uint64_t steps = 3u * steps_between(0, kTotal);
  ASSERT_TRUE(
      testing::wait_until([&] { return d.worker().stats().steps_scored.load() >= steps; }, 30s));
  // Scoring went on: the sink's wait does not stall the stream.
  EXPECT_EQ(d.worker().stats().alerts.load(), 3u * 3);  // steps 11, 31, 51 per entity
  std::this_thread::sleep_for(std::chrono::seconds(down_seconds()));
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster_, "alerts", 0, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(d.shutdown());  // flushes the sink within the drain deadline
  int duplicates = 0;
  auto got = alerts();
  expect_all_alerts(got, kTotal, &duplicates);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(got.size(), 9u);
}

// The real mscredd, killed with SIGKILL mid-stream and started again on the same group.
class MscreddProcess {
 public:
  MscreddProcess(const std::string& binary, const std::string& config, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      if (freopen(log.c_str(), "a", stderr) == nullptr) _exit(126);
      if (freopen("/dev/null", "w", stdout) == nullptr) _exit(126);
      execl(binary.c_str(), binary.c_str(), "--config", config.c_str(), nullptr);
      _exit(127);
    }
  }
  ~MscreddProcess() { signal_and_wait(SIGKILL); }
  int signal_and_wait(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

TEST_F(KafkaFaultTest, SigkillAndRestartSkipsNoSampleAndRedeliversWhatWasInFlight) {
  const std::string binary = std::string(MSCRED_BINARY_DIR) + "/daemon/mscredd";
  if (access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << "mscredd not built";
  const std::string config = ::testing::TempDir() + "mscred_fault_" + std::to_string(getpid());
  const std::string log = config + ".log";
  std::ofstream(config + ".yaml") << yaml();
  constexpr int kTotal = 400;
  // The stream is produced at a steady pace (3 records every 10 ms, ~4 s in all) while
  // run 1 consumes it, so the kill lands mid-stream with records in flight.
  std::thread feed([&] {
    for (int i = 0; i < kTotal; i += 2) {
      produce(i, i + 2);
      std::this_thread::sleep_for(10ms);
    }
  });

  std::vector<int64_t> at_kill;
  {
    MscreddProcess run1(binary, config + ".yaml", log);
    // Kill once every partition has committed past the first steps and alerts are being
    // delivered. (Before the alert producer has its idempotent producer id, alerts wait in
    // its queue while offsets are committed: killing then loses them, finding 7 of
    // docs/robustness.md; this test does not exercise that race.)
    bool ready = testing::wait_until(
        [&] {
          auto c = committed();
          return c[0] >= 40 && c[1] >= 40 && c[2] >= 40 && alerts().size() >= 3;
        },
        30s);
    int status = run1.signal_and_wait(SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    at_kill = committed();
    feed.join();
    ASSERT_TRUE(ready);
  }
  Alerts before = alerts();
  {
    MscreddProcess run2(binary, config + ".yaml", log);
    // Run 2 re-reads from c_p - 10 (the source's default rewind, one entity's warm-up) to
    // warm its windows and scores from the first step after c_p: it finishes with
    // c_p + 10 + 2 * (steps - 1) committed on partition p, as a run from c_p would.
    std::vector<int64_t> want;
    for (int p = 0; p < 3; ++p) {
      int first = static_cast<int>(at_kill[p]);
      int s = steps_between(first, kTotal);
      want.push_back(s == 0 ? first : first + 10 + 2 * (s - 1));
    }
    ASSERT_TRUE(testing::wait_until([&] { return committed() == want; }, 60s))
        << committed()[0] << " " << committed()[1] << " " << committed()[2];
    int status = run2.signal_and_wait(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  Alerts got = alerts();

  // Every alert of the uninterrupted run is there at least once. Without the rewind a step
  // ending inside run 2's warm-up (after c_p, before c_p + 9) that run 1 had not scored
  // would be missing (state is not persisted); the rewind re-reads the records that warm
  // it, so none may be missing.
  int missing_in_warmup = 0, duplicates = 0;
  for (int p = 0; p < 3; ++p) {
    const int c = static_cast<int>(at_kill[p]);
    for (int s = 9; s < kTotal; s += 2) {
      if (!alerting_step(s)) continue;
      bool there = got.count({kEntities[p], s}) != 0;
      bool warm_up = s > c && s < c + 9;
      if (warm_up && !there) ++missing_in_warmup;
      EXPECT_TRUE(there) << kEntities[p] << " step " << s << " (committed " << c << ")";
    }
  }
  EXPECT_EQ(missing_in_warmup, 0);
  // Duplicates come only from steps after c_p that run 1 had already scored (its progress
  // past the last commit); the re-read warm-up records are not scored again.
  int in_flight_alerts = 0;
  for (const auto& [key, copies] : got) {
    duplicates += copies - 1;
    if (before.count(key) != 0) {
      int p = key.first[1] - '0';
      if (key.second > at_kill[p]) ++in_flight_alerts;
    }
  }
  EXPECT_LE(duplicates, in_flight_alerts);
  // Samples: run 2 read from c_p, so every offset >= c_p was read again and all below
  // were finished by run 1; none was skipped (the committed offsets match the counts).
  std::printf(
      "SIGKILL: committed at kill %lld/%lld/%lld; %zu distinct alerts, %d duplicates (bound "
      "%d), %d in warm-up not scored\n",
      static_cast<long long>(at_kill[0]), static_cast<long long>(at_kill[1]),
      static_cast<long long>(at_kill[2]), got.size(), duplicates, in_flight_alerts,
      missing_in_warmup);
}

}  // namespace
}  // namespace mscred::daemon
