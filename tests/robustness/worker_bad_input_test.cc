// Bad-input classes that only the worker can judge (connectors/record.h reasons counted by
// daemon::Worker): unknown entity, timestamps out of order / duplicated / far ahead, and
// records that do not fit the entity's model. The configuration comes through the real
// loader and the model is the built-in fake scorer (sensors a, b, c), so no checkpoint is
// needed. Each test checks the per-reason count and that good records around the bad ones
// are still processed.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "mscred/connectors/record.h"
#include "mscred/daemon/bounded_queue.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/worker.h"

namespace {

using mscred::connectors::Record;
using mscred::connectors::RecordParser;
using mscred::connectors::RejectReason;
using mscred::daemon::Config;
using mscred::daemon::RecordQueue;
using mscred::daemon::Worker;

// scales 2,4, step 1, history 1: a step per sample, the first full window after 4 rows.
Config test_config(const std::string& unknown) {
  return mscred::daemon::parse_config(R"(
sources: [{type: file, path: /dev/null}]
models:
  - name: fake
    fake: {sensors: [a, b, c], level: 100}
entities:
  unknown: )" + unknown + R"(
  default_model: fake
  models: {known: fake}
pipeline: {scales: [2, 4], step: 1, history: 1}
worker: {max_batch: 4, max_wait_ms: 0, queue_capacity: 64}
)",
                                      "worker_test.yaml");
}

class WorkerBadInputTest : public ::testing::Test {
 protected:
  void run(const Config& config, const std::vector<std::string>& lines) {
    RecordQueue queue(config.worker.queue_capacity);
    Worker worker(config, queue, {}, nullptr);
    worker.start();
    RecordParser parser;
    for (const auto& line : lines) {
      Record r;
      ASSERT_TRUE(parser.parse_auto(line, r).ok()) << line;
      r.source = "test";
      ASSERT_TRUE(queue.push(std::move(r)));
    }
    ASSERT_TRUE(worker.drain(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
    for (size_t i = 0; i < counts_.size(); ++i)
      counts_[i] = worker.rejected(static_cast<RejectReason>(i));
    records_ = worker.stats().records.load();
    rejected_ = worker.stats().rejected.load();
    steps_ = worker.stats().steps_scored.load();
  }
  uint64_t count(RejectReason r) const { return counts_[static_cast<size_t>(r)]; }

  std::array<uint64_t, static_cast<size_t>(RejectReason::kCount)> counts_{};
  uint64_t records_ = 0, rejected_ = 0, steps_ = 0;
};

TEST_F(WorkerBadInputTest, UnknownEntityIsCountedAndOthersGoOn) {
  run(test_config("reject"), {"stranger,1,0,0,0", "known,1,0,0,0", "known,2,0,0,0",
                              "stranger,2,0,0,0", "known,3,0,0,0", "known,4,0,0,0"});
  EXPECT_EQ(count(RejectReason::kUnknownEntity), 2u);
  EXPECT_EQ(rejected_, 2u);
  EXPECT_EQ(records_, 6u);
  // 4 rows of `known`: the window of scale 4 is full at the 4th row, one step scored.
  EXPECT_EQ(steps_, 1u);
}

TEST_F(WorkerBadInputTest, OutOfOrderAndDuplicateTsAreCountedApart) {
  run(test_config("default"), {"e,10,0,0,0", "e,10,1,1,1", "e,9,0,0,0", "e,11,0,0,0", "e,11,0,0,0",
                               "e,5,0,0,0", "e,12,0,0,0", "e,13,0,0,0"});
  EXPECT_EQ(count(RejectReason::kDuplicateTs), 2u);
  EXPECT_EQ(count(RejectReason::kOutOfOrder), 2u);
  EXPECT_EQ(rejected_, 4u);
  EXPECT_EQ(steps_, 1u);  // rows 10, 11, 12, 13 were accepted
}

TEST_F(WorkerBadInputTest, FarFutureTsIsRejectedAndDoesNotBlockTheEntity) {
  // Regression (finding 2 of docs/robustness.md): one record with a ts years ahead used to
  // be accepted, and every later on-time record of its entity was then out_of_order. With
  // the default pipeline.max_ts_jump_s (86400) it is rejected and the clock stays at 2.
  run(test_config("default"),
      {"e,1,0,0,0", "e,2,0,0,0", "e,4102444800,0,0,0", "e,3,0,0,0", "e,4,0,0,0", "f,3,0,0,0"});
  EXPECT_EQ(count(RejectReason::kFutureTs), 1u);
  EXPECT_EQ(count(RejectReason::kOutOfOrder), 0u);
  EXPECT_EQ(rejected_, 1u);
  EXPECT_EQ(records_, 6u);
  EXPECT_EQ(steps_, 1u);  // e: rows 1, 2, 3, 4 fill the window of scale 4
}

TEST_F(WorkerBadInputTest, JumpConfirmedByConsecutiveRecordsIsAcceptedAndWarmsUpAgain) {
  // A producer back after a 2-day outage: future_ts_confirm (3) records in order beyond the
  // bound make the jump real. The first two are future_ts, the third is accepted and the
  // windows restart, so rows 200002..200005 are a fresh warm-up: one step at 200005.
  // Without the restart every row after the jump would be a step (4 more).
  run(test_config("default"),
      {"e,1,0,0,0", "e,2,0,0,0", "e,3,0,0,0", "e,4,0,0,0", "e,200000,0,0,0", "e,200001,0,0,0",
       "e,200002,0,0,0", "e,200003,0,0,0", "e,200004,0,0,0", "e,200005,0,0,0"});
  EXPECT_EQ(count(RejectReason::kFutureTs), 2u);
  EXPECT_EQ(rejected_, 2u);
  EXPECT_EQ(steps_, 2u);
}

TEST_F(WorkerBadInputTest, InterleavedOnTimeRecordsKeepABogusJumpFromBeingConfirmed) {
  // A producer with one broken clock field among good records: each future record starts a
  // new run (an on-time record in between ends it), so none is ever accepted.
  run(test_config("default"),
      {"e,1,0,0,0", "e,900000,0,0,0", "e,2,0,0,0", "e,900001,0,0,0", "e,3,0,0,0", "e,900002,0,0,0",
       "e,4,0,0,0", "e,900003,0,0,0", "e,5,0,0,0"});
  EXPECT_EQ(count(RejectReason::kFutureTs), 4u);
  EXPECT_EQ(count(RejectReason::kOutOfOrder), 0u);
  EXPECT_EQ(steps_, 2u);  // rows 1..5: steps at 4 and 5
}

TEST_F(WorkerBadInputTest, MaxTsJumpZeroTurnsTheBoundOff) {
  Config c = test_config("default");
  c.pipeline.max_ts_jump_s = 0.0;
  run(c, {"e,1,0,0,0", "e,2,0,0,0", "e,4102444800,0,0,0", "e,3,0,0,0"});
  EXPECT_EQ(count(RejectReason::kFutureTs), 0u);
  EXPECT_EQ(count(RejectReason::kOutOfOrder), 1u);  // the old behaviour, by choice
}

TEST_F(WorkerBadInputTest, TsAheadOfTheWallClockIsFutureTsEvenForAFirstRecord) {
  Config c = test_config("default");
  c.pipeline.max_ts_ahead_s = 3600.0;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto line = [](const char* entity, double ts) {
    return std::string(entity) + "," + std::to_string(static_cast<long long>(ts)) + ",0,0,0";
  };
  // g's first record is a day ahead; e's fifth is two hours ahead; e's others are a minute
  // old, well inside the bound whatever the test machine's speed.
  run(c, {line("g", now + 86400), line("e", now - 60), line("e", now - 59), line("e", now - 58),
          line("e", now - 57), line("e", now + 7200), line("g", now - 60)});
  EXPECT_EQ(count(RejectReason::kFutureTs), 2u);
  EXPECT_EQ(rejected_, 2u);
  EXPECT_EQ(steps_, 1u);
}

TEST(FutureTsRuleTest, BoundsAreStrictAndOptional) {
  using mscred::daemon::check_timestamp;
  using mscred::daemon::TsCheck;
  const mscred::daemon::TsLimits limits{100.0, 10.0};
  EXPECT_EQ(check_timestamp(true, 50.0, 150.0, limits, 1000.0), TsCheck::kAccept);  // = bound
  EXPECT_EQ(check_timestamp(true, 50.0, 150.5, limits, 1000.0), TsCheck::kJump);
  EXPECT_EQ(check_timestamp(false, 0.0, 1e12, {100.0, 0.0}, 1000.0), TsCheck::kAccept);
  EXPECT_EQ(check_timestamp(false, 0.0, 1010.0, limits, 1000.0), TsCheck::kAccept);
  EXPECT_EQ(check_timestamp(false, 0.0, 1010.5, limits, 1000.0), TsCheck::kAheadOfNow);
  EXPECT_EQ(check_timestamp(true, 1000.0, 1000.0, limits, 1000.0), TsCheck::kDuplicate);
  EXPECT_EQ(check_timestamp(true, 1000.0, 999.0, limits, 1000.0), TsCheck::kOutOfOrder);
  EXPECT_EQ(check_timestamp(true, 0.0, 1e300, {}, 0.0), TsCheck::kAccept);  // both off
}

TEST_F(WorkerBadInputTest, RecordsThatDoNotFitTheModelAreCountedByReason) {
  run(test_config("default"), {R"({"entity":"e","ts":1,"values":{"a":1,"b":2}})",
                               R"({"entity":"e","ts":2,"values":{"a":1,"b":2,"c":3,"zz":4}})",
                               R"({"entity":"e","ts":3,"values":{"a":1,"b":2,"a":5}})",
                               R"({"entity":"e","ts":4,"values":[1,2]})", "e,5,1,2,3,4", "e,6,1,,3",
                               R"({"entity":"e","ts":7,"values":{"c":3,"b":2,"a":1}})", "e,8,1,2,3",
                               "e,9,1,2,3", "e,10,1,2,3"});
  EXPECT_EQ(count(RejectReason::kMissingSensor), 2u);  // {"a","b"} and the empty CSV field
  EXPECT_EQ(count(RejectReason::kExtraSensor), 1u);
  EXPECT_EQ(count(RejectReason::kDuplicateSensor), 1u);
  EXPECT_EQ(count(RejectReason::kWrongLength), 2u);
  EXPECT_EQ(rejected_, 6u);
  EXPECT_EQ(steps_, 1u);  // ts 7..10 accepted: one full window
}

TEST_F(WorkerBadInputTest, RejectedTsDoesNotAdvanceTheEntityClock) {
  // A record rejected for its values must not count as the entity's last ts, or the next
  // good record with the same ts would be dropped as a duplicate.
  run(test_config("default"), {"e,1,1,2,3", "e,2,1,2", "e,2,1,2,3", "e,3,1,2,3", "e,4,1,2,3"});
  EXPECT_EQ(count(RejectReason::kWrongLength), 1u);
  EXPECT_EQ(count(RejectReason::kDuplicateTs), 0u);
  EXPECT_EQ(steps_, 1u);
}

}  // namespace
