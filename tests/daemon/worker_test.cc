// The worker: timestamp rule, acknowledgement after scoring, batching, entity routing,
// alerts, reload failure.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "mscred/connectors/sinks.h"
#include "mscred/daemon/fake_scorer.h"
#include "mscred/daemon/worker.h"

namespace mscred::daemon {
namespace {

using connectors::Record;
using connectors::RejectReason;
using namespace std::chrono_literals;

// step 2, scales {2, 4}, history 1: window = 4 rows, first scorable step at sample 4.
Config small_config() {
  Config c;
  ModelConfig m;
  m.name = "m";
  m.fake = true;
  m.fake_sensors = {"a", "b", "c"};
  m.fake_level = 5.0;
  c.models = {m};
  c.pipeline.scales = {2, 4};
  c.pipeline.step = 2;
  c.pipeline.history = 1;
  c.entities.unknown = EntitiesConfig::Unknown::kDefault;
  c.entities.default_model = "m";
  c.worker.max_batch = 64;
  c.worker.max_wait_ms = 1;
  c.sinks.instance = "test";
  return c;
}

Record sample(const std::string& entity, double ts, std::vector<double> values,
              connectors::AckTarget* target = nullptr, int64_t offset = -1) {
  Record r;
  r.entity = entity;
  r.ts = ts;
  r.values = std::move(values);
  r.source = "test";
  r.ingest_time = std::chrono::steady_clock::now();
  r.ack = {target, 0, offset};
  return r;
}

class RecordingAcks : public connectors::AckTarget {
 public:
  void done(const connectors::AckToken& t) override {
    std::lock_guard lock(mutex_);
    offsets_.insert(t.offset);
  }
  std::set<int64_t> offsets() const {
    std::lock_guard lock(mutex_);
    return offsets_;
  }

 private:
  mutable std::mutex mutex_;
  std::set<int64_t> offsets_;
};

// Wraps a FakeScorer to observe what the worker does around inference.
class ObservingScorer : public StepScorer {
 public:
  ObservingScorer(std::unique_ptr<StepScorer> inner, std::function<void(size_t)> on_score)
      : inner_(std::move(inner)), on_score_(std::move(on_score)) {}
  const ScorerInfo& info() const override { return inner_->info(); }
  std::vector<StepOutcome> score(const float* w, size_t batch) override {
    on_score_(batch);
    return inner_->score(w, batch);
  }

 private:
  std::unique_ptr<StepScorer> inner_;
  std::function<void(size_t)> on_score_;
};

bool drain(Worker& w) {
  return w.drain(std::chrono::steady_clock::now() + 5s);
}

TEST(TimestampRuleTest, AcceptsOnlyStrictlyNewer) {
  EXPECT_EQ(check_timestamp(false, 0.0, -5.0), TsCheck::kAccept);
  EXPECT_EQ(check_timestamp(true, 10.0, 10.5), TsCheck::kAccept);
  EXPECT_EQ(check_timestamp(true, 10.0, 10.0), TsCheck::kDuplicate);
  EXPECT_EQ(check_timestamp(true, 10.0, 9.0), TsCheck::kOutOfOrder);
}

TEST(WorkerTest, DropsDuplicateAndOutOfOrderTimestamps) {
  RecordQueue q(64);
  connectors::MemorySink sink;
  Worker w(small_config(), q, {&sink}, nullptr);
  w.start();
  for (double ts : {1.0, 2.0, 2.0, 1.5, 3.0, 4.0})
    q.push(sample("e", ts, {0, 0, 0}));
  ASSERT_TRUE(drain(w));
  EXPECT_EQ(w.stats().records.load(), 6u);
  EXPECT_EQ(w.rejected(RejectReason::kDuplicateTs), 1u);
  EXPECT_EQ(w.rejected(RejectReason::kOutOfOrder), 1u);
  // 4 accepted samples (1, 2, 3, 4) make exactly one scorable step.
  EXPECT_EQ(w.stats().steps_scored.load(), 1u);
}

TEST(WorkerTest, AcknowledgesRecordsOnlyAfterTheirStepIsScored) {
  RecordQueue q(64);
  RecordingAcks acks;
  std::vector<std::set<int64_t>> acked_at_inference;
  auto loader = [&](const ModelConfig& m, const Config& c) -> std::unique_ptr<StepScorer> {
    return std::make_unique<ObservingScorer>(
        load_scorer(m, c), [&](size_t) { acked_at_inference.push_back(acks.offsets()); });
  };
  Worker w(small_config(), q, {}, nullptr, loader);
  w.start();
  for (int i = 0; i < 5; ++i)
    q.push(sample("e", i, {0, 0, 0}, &acks, i));
  ASSERT_TRUE(drain(w));
  // Samples 0,1 form a warm-up step (acknowledged at once); 2,3 the first scored step;
  // sample 4 starts a step that never completes and stays unacknowledged.
  ASSERT_EQ(acked_at_inference.size(), 1u);
  EXPECT_EQ(acked_at_inference[0], (std::set<int64_t>{0, 1}));
  EXPECT_EQ(acks.offsets(), (std::set<int64_t>{0, 1, 2, 3}));
}

TEST(WorkerTest, RejectedRecordsAreAcknowledged) {
  RecordQueue q(64);
  RecordingAcks acks;
  Worker w(small_config(), q, {}, nullptr);
  w.start();
  q.push(sample("e", 1, {0, 0}, &acks, 7));  // wrong length
  ASSERT_TRUE(drain(w));
  EXPECT_EQ(w.rejected(RejectReason::kWrongLength), 1u);
  EXPECT_EQ(acks.offsets(), (std::set<int64_t>{7}));
}

TEST(WorkerTest, BatchesStepsAcrossEntities) {
  Config c = small_config();
  c.worker.max_batch = 3;
  c.worker.max_wait_ms = 10000;  // only a full batch (or the drain) triggers inference
  RecordQueue q(256);
  std::vector<size_t> batches;
  auto loader = [&](const ModelConfig& m, const Config& cc) -> std::unique_ptr<StepScorer> {
    return std::make_unique<ObservingScorer>(load_scorer(m, cc),
                                             [&](size_t b) { batches.push_back(b); });
  };
  Worker w(c, q, {}, nullptr, loader);
  w.start();
  // Three entities, 4 samples each: one scorable step each -> one batch of 3.
  // A fourth entity then leaves one step pending until the drain.
  for (int i = 0; i < 4; ++i) {
    for (const char* e : {"x", "y", "z"})
      q.push(sample(e, i, {0, 0, 0}));
  }
  for (int i = 0; i < 4; ++i)
    q.push(sample("w", i, {0, 0, 0}));
  ASSERT_TRUE(drain(w));
  EXPECT_EQ(batches, (std::vector<size_t>{3, 1}));
  EXPECT_EQ(w.stats().steps_scored.load(), 4u);
}

TEST(WorkerTest, UnknownEntityIsRejectedWithoutDefaultModel) {
  Config c = small_config();
  c.entities.unknown = EntitiesConfig::Unknown::kReject;
  c.entities.models = {{"known", "m"}};
  RecordQueue q(64);
  Worker w(c, q, {}, nullptr);
  w.start();
  q.push(sample("stranger", 1, {0, 0, 0}));
  q.push(sample("known", 1, {0, 0, 0}));
  ASSERT_TRUE(drain(w));
  EXPECT_EQ(w.rejected(RejectReason::kUnknownEntity), 1u);
  EXPECT_EQ(w.stats().rejected.load(), 1u);
}

TEST(WorkerTest, AlertNamesTheShockedSensors) {
  RecordQueue q(64);
  connectors::MemorySink sink;
  Worker w(small_config(), q, {&sink}, nullptr);
  w.start();
  for (int i = 0; i < 12; ++i) {
    // Samples 8 and 9 (the step ending at 9) carry a shock on b and c.
    bool shock = i == 8 || i == 9;
    q.push(sample("e", i, {1.0, shock ? 9.0 : 1.0, shock ? -7.0 : 1.0}));
  }
  ASSERT_TRUE(drain(w));
  auto alerts = sink.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].entity, "e");
  EXPECT_DOUBLE_EQ(alerts[0].step_ts, 9.0);
  ASSERT_EQ(alerts[0].top_sensors.size(), 2u);
  EXPECT_EQ(alerts[0].top_sensors[0].sensor, "b");  // excess 4 per sample vs 2 for c
  EXPECT_EQ(alerts[0].top_sensors[1].sensor, "c");
  EXPECT_EQ(alerts[0].model_id, "m");
  EXPECT_EQ(alerts[0].instance, "test");
}

// A sink that delivers later: it keeps each alert's DeliveryGroup until told.
class DeferredSink : public connectors::AlertSink {
 public:
  void publish(const connectors::Alert&) override { ADD_FAILURE() << "untracked publish"; }
  void publish_tracked(const connectors::Alert&, connectors::DeliveryRef d) override {
    std::lock_guard lock(mutex_);
    held_.push_back(std::move(d));
  }
  bool flush(std::chrono::milliseconds) override { return true; }
  size_t held() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  void deliver(bool ok) {
    std::lock_guard lock(mutex_);
    for (auto& d : held_)
      if (!ok) d->fail();
    held_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<connectors::DeliveryRef> held_;
};

// Samples 0..11 at offsets 0..11; the step of samples 8, 9 alerts (as in the test above).
void feed_alerting_stream(RecordQueue& q, RecordingAcks& acks) {
  for (int i = 0; i < 12; ++i) {
    bool shock = i == 8 || i == 9;
    q.push(sample("e", i, {1.0, shock ? 9.0 : 1.0, shock ? -7.0 : 1.0}, &acks, i));
  }
}

TEST(WorkerTest, AlertingStepIsAcknowledgedOnlyOnceEverySinkDelivered) {
  RecordQueue q(64);
  RecordingAcks acks;
  DeferredSink slow;
  connectors::MemorySink fast;  // synchronous: delivered at hand-off
  Worker w(small_config(), q, {&slow, &fast}, nullptr);
  w.start();
  feed_alerting_stream(q, acks);
  ASSERT_TRUE(drain(w));
  ASSERT_EQ(fast.alerts().size(), 1u);
  ASSERT_EQ(slow.held(), 1u);
  // Every scored step is done except the alerting one (samples 8, 9), still in delivery.
  EXPECT_EQ(acks.offsets(), (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 10, 11}));
  slow.deliver(true);
  EXPECT_EQ(acks.offsets().count(8), 1u);
  EXPECT_EQ(acks.offsets().count(9), 1u);
}

TEST(WorkerTest, FailedAlertDeliveryLeavesItsRecordsUnacknowledged) {
  RecordQueue q(64);
  RecordingAcks acks;
  DeferredSink sink;
  Worker w(small_config(), q, {&sink}, nullptr);
  w.start();
  feed_alerting_stream(q, acks);
  ASSERT_TRUE(drain(w));
  ASSERT_EQ(sink.held(), 1u);
  sink.deliver(false);
  // Re-read after a restart instead of lost: 8 and 9 never acknowledged.
  EXPECT_EQ(acks.offsets(), (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 10, 11}));
}

TEST(WorkerTest, FailedReloadKeepsTheLoadedModel) {
  RecordQueue q(64);
  int loads = 0;
  auto loader = [&](const ModelConfig& m, const Config& c) -> std::unique_ptr<StepScorer> {
    if (++loads > 1) throw std::runtime_error("checkpoint is corrupt");
    return load_scorer(m, c);
  };
  Worker w(small_config(), q, {}, nullptr, loader);
  w.start();
  w.request_reload();
  for (int i = 0; i < 4; ++i)
    q.push(sample("e", i, {0, 0, 0}));
  ASSERT_TRUE(drain(w));
  EXPECT_GE(loads, 2);
  EXPECT_EQ(w.stats().steps_scored.load(), 1u);
}

// Records the stream ids the worker passes and the ones it tells the scorer to forget.
class StreamRecordingScorer : public StepScorer {
 public:
  explicit StreamRecordingScorer(std::unique_ptr<StepScorer> inner) : inner_(std::move(inner)) {}
  const ScorerInfo& info() const override { return inner_->info(); }
  std::vector<StepOutcome> score(const float* w, size_t batch) override {
    plain_calls++;
    return inner_->score(w, batch);
  }
  std::vector<StepOutcome> score_streams(const float* w, size_t batch,
                                         const uint64_t* ids) override {
    for (size_t i = 0; i < batch; ++i)
      seen.push_back(ids[i]);
    return inner_->score(w, batch);
  }
  void forget_stream(uint64_t id) override { forgotten.push_back(id); }

  std::vector<uint64_t> seen;
  std::vector<uint64_t> forgotten;
  int plain_calls = 0;

 private:
  std::unique_ptr<StepScorer> inner_;
};

TEST(WorkerTest, PassesStableStreamIdsAndForgetsResetEntities) {
  Config c = small_config();
  c.worker.max_batch = 1;  // one step per inference: the order of ids is the step order
  RecordQueue q(256);
  StreamRecordingScorer* scorer = nullptr;
  auto loader = [&](const ModelConfig& m, const Config& cc) -> std::unique_ptr<StepScorer> {
    auto s = std::make_unique<StreamRecordingScorer>(load_scorer(m, cc));
    scorer = s.get();
    return s;
  };
  Worker w(c, q, {}, nullptr, loader);
  w.start();
  // Samples 0..5 of x and y: steps end at 3 and 5 for each (window 4 rows, step 2).
  for (int i = 0; i < 6; ++i) {
    for (const char* e : {"x", "y"})
      q.push(sample(e, i, {0, 0, 0}));
  }
  Record reset;
  reset.kind = Record::Kind::kResetEntity;
  reset.entity = "x";
  q.push(std::move(reset));
  for (int i = 10; i < 14; ++i)
    q.push(sample("x", i, {0, 0, 0}));  // x again, from scratch: one step at 13
  ASSERT_TRUE(drain(w));
  ASSERT_NE(scorer, nullptr);
  ASSERT_EQ(scorer->seen.size(), 5u);
  EXPECT_EQ(scorer->plain_calls, 0);
  const uint64_t x = scorer->seen[0];
  const uint64_t y = scorer->seen[1];
  EXPECT_NE(x, y);
  EXPECT_EQ(scorer->seen[2], x);  // x's second step: same stream
  EXPECT_EQ(scorer->seen[3], y);
  EXPECT_EQ(scorer->forgotten, (std::vector<uint64_t>{x}));
  EXPECT_NE(scorer->seen[4], x);  // a reset entity is a new stream
  EXPECT_NE(scorer->seen[4], y);
}

}  // namespace
}  // namespace mscred::daemon
