// The capacity check: a model whose measured steps/s cannot keep up with the declared load
// (entities x samples/s / step, times the headroom) is refused at start-up and on reload,
// with a message that names the numbers; a fast enough one passes; the measurement is
// exported as a gauge. The slow model is the fake scorer with a per-window cost (it
// sleeps), so "too slow" holds however loaded the machine is.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <regex>
#include <thread>

#include "mscred/daemon/capacity.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/fake_scorer.h"
#include "mscred/daemon/worker.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;

// step 2, scales {2, 4}, history 1; 4 windows per batch.
Config config_with_load(size_t entities, double samples_per_s, double step_cost_ms) {
  Config c;
  ModelConfig m;
  m.name = "m";
  m.fake = true;
  m.fake_sensors = {"a", "b", "c"};
  m.fake_step_cost_ms = step_cost_ms;
  m.expected_entities = entities;
  m.samples_per_s = samples_per_s;
  c.models = {m};
  c.pipeline.scales = {2, 4};
  c.pipeline.step = 2;
  c.pipeline.history = 1;
  c.entities.unknown = EntitiesConfig::Unknown::kDefault;
  c.entities.default_model = "m";
  c.worker.max_batch = 4;
  c.worker.max_wait_ms = 1;
  c.worker.capacity_headroom = 1.5;
  c.sinks.instance = "test";
  return c;
}

std::string refusal(const Config& c, connectors::Metrics* metrics = nullptr) {
  RecordQueue q(16);
  try {
    Worker w(c, q, {}, metrics);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// The number after `prefix` in `text`, or -1.
double number_after(const std::string& text, const std::string& prefix) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(prefix + "([0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

// Value of an unlabelled-by-entity gauge line `name{model="m"} value` in a scrape, or -1.
double gauge(const std::string& scrape, const std::string& name) {
  return number_after(scrape, name + R"(\{model="m"\} )");
}

TEST(CapacityTest, RequiredStepsAreEntitiesTimesRateOverStep) {
  CapacityDemand d;
  d.entities = 100;
  d.samples_per_s = 2.0;
  d.step = 10;
  EXPECT_DOUBLE_EQ(d.required_steps_per_s(), 20.0);  // 100 x 2 / 10
}

TEST(CapacityTest, MeasurementTimesTheScorer) {
  // 5 ms per window, batch 2: every timed call takes >= 10 ms, so <= 200 steps/s.
  auto inner = std::make_unique<FakeScorer>("m", std::vector<std::string>{"a"},
                                            std::vector<int>{2, 4}, 2, 1, 3.0, 3);
  CostlyScorer slow(std::move(inner), 5ms);
  CapacityMeasurement m = measure_capacity(slow, 2, 3);
  EXPECT_EQ(m.batch, 2u);
  EXPECT_EQ(m.reps, 3);
  EXPECT_GE(m.median_batch_s, 0.010);
  EXPECT_LE(m.steps_per_s, 200.0);
  EXPECT_NEAR(m.steps_per_s, 2.0 / m.median_batch_s, 1e-9);
}

// A scorer with a stream cache: a window whose first h-1 steps are its stream's previous
// window's last h-1 (compared by value) costs `hit`, any other `miss`; score() always costs
// `miss`. It records what the capacity check sent it.
class CachedStreamScorer : public StepScorer {
 public:
  CachedStreamScorer(std::chrono::milliseconds hit, std::chrono::milliseconds miss)
      : hit_(hit), miss_(miss) {
    info_.history = 3;
    info_.window_floats = 3 * 4;  // 3 steps of 4 floats
    info_.scales = {2};
    info_.sensors = {"a", "b"};
  }
  const ScorerInfo& info() const override { return info_; }
  bool stream_cache() const override { return true; }
  std::vector<StepOutcome> score(const float*, size_t batch) override {
    ++plain_calls;
    std::this_thread::sleep_for(miss_ * static_cast<int>(batch));
    return std::vector<StepOutcome>(batch);
  }
  std::vector<StepOutcome> score_streams(const float* windows, size_t batch,
                                         const uint64_t* ids) override {
    auto cost = std::chrono::milliseconds(0);
    for (size_t b = 0; b < batch; ++b) {
      const float* w = windows + b * 12;
      auto it = last_.find(ids[b]);
      const bool hit = it != last_.end() && std::equal(w, w + 8, it->second.begin() + 4);
      (hit ? hits : misses) += 1;
      cost += hit ? hit_ : miss_;
      last_[ids[b]].assign(w, w + 12);
    }
    std::this_thread::sleep_for(cost);
    return std::vector<StepOutcome>(batch);
  }
  void forget_stream(uint64_t id) override { forgotten.push_back(id); }

  int plain_calls = 0;
  int hits = 0;
  int misses = 0;
  std::vector<uint64_t> forgotten;

 private:
  ScorerInfo info_;
  std::chrono::milliseconds hit_, miss_;
  std::map<uint64_t, std::vector<float>> last_;
};

TEST(CapacityTest, WithAStreamCacheTheSteadyStatePerStepPathIsTimed) {
  // Batch 4, 3 timed calls: one warm window per entity (4 misses), one untimed and three
  // timed calls in which every entity advances by one step (16 hits); ids from the
  // reserved range, all forgotten afterwards. Hits cost 2 ms and misses 20 ms, so a timed
  // batch takes >= 8 ms: the measurement is the cached path's.
  CachedStreamScorer scorer(2ms, 20ms);
  CapacityMeasurement m = measure_capacity(scorer, 4, 3);
  EXPECT_TRUE(m.streaming);
  EXPECT_EQ(scorer.plain_calls, 0);
  EXPECT_EQ(scorer.misses, 4);
  EXPECT_EQ(scorer.hits, 16);
  ASSERT_EQ(scorer.forgotten.size(), 4u);
  for (size_t b = 0; b < 4; ++b)
    EXPECT_EQ(scorer.forgotten[b], kCapacityStreamIdBase + b);
  EXPECT_GE(m.median_batch_s, 0.008);
  EXPECT_NEAR(m.steps_per_s, 4.0 / m.median_batch_s, 1e-9);

  // The refusal still works on a streaming measurement: 4 / 8 ms = 500 steps/s at most;
  // 100 entities x 10 samples/s / step 1 x 1.5 needs 1500.
  CapacityVerdict v = check_capacity({{"m", 100, 10.0, 1, m}}, 1.5);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find("streaming with the cache"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("required 1000.0 steps/s"), std::string::npos) << v.message;
}

TEST(CapacityTest, ModelsSharingTheWorkerAreRefusedTogether) {
  // Hand-worked: each needs 60 steps/s x 1.5 = 90 of its measured 150 (60 %), so each
  // fits alone, but the one worker thread would be 120 % busy.
  CapacityMeasurement m{4, 3, 4.0 / 150.0, 150.0, false};
  std::vector<CapacityDemand> demands{{"a", 60, 10.0, 10, m}, {"b", 600, 1.0, 10, m}};
  CapacityVerdict v = check_capacity(demands, 1.5);
  EXPECT_FALSE(v.ok);
  EXPECT_NEAR(v.utilisation, 1.2, 1e-12);
  EXPECT_NE(v.message.find("together need 120 %"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("model 'a'"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("model 'b'"), std::string::npos) << v.message;
  EXPECT_TRUE(check_capacity({demands[0]}, 1.5).ok);
}

TEST(CapacityTest, RefusesTooSlowModelNamingTheNumbers) {
  // 2 ms per window: at most 500 steps/s. Load 1000 entities x 10 samples/s / step 2 =
  // 5000 steps/s, x 1.5 headroom = 7500.
  std::string msg = refusal(config_with_load(1000, 10.0, 2.0));
  ASSERT_FALSE(msg.empty()) << "a model 10x too slow was accepted";
  EXPECT_NE(msg.find("model 'm'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("required 5000.0 steps/s (1000 entities x 10.000 samples/s / step 2)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("x headroom 1.50 = 7500.0 steps/s"), std::string::npos) << msg;
  double measured = number_after(msg, "measured ");
  EXPECT_GT(measured, 0.0) << msg;
  EXPECT_LE(measured, 500.0) << msg;
  EXPECT_NE(msg.find("worker.capacity_check"), std::string::npos) << msg;  // what to change
}

TEST(CapacityTest, PassesFastEnoughModelAndExportsTheGauges) {
  // The plain fake scorer takes microseconds per window; the load needs 10 x 1 / 2 = 5
  // steps/s (7.5 with headroom).
  connectors::Metrics metrics;
  EXPECT_EQ(refusal(config_with_load(10, 1.0, 0.0), &metrics), "");
  std::string scrape = metrics.scrape();
  EXPECT_GT(gauge(scrape, "mscred_model_capacity_steps_per_second"), 7.5) << scrape;
  EXPECT_DOUBLE_EQ(gauge(scrape, "mscred_model_required_steps_per_second"), 5.0) << scrape;
}

TEST(CapacityTest, WarnStartsAndOffDoesNotMeasure) {
  Config warn = config_with_load(1000, 10.0, 2.0);
  warn.worker.capacity_check = WorkerConfig::CapacityCheck::kWarn;
  connectors::Metrics metrics;
  EXPECT_EQ(refusal(warn, &metrics), "");
  double measured = gauge(metrics.scrape(), "mscred_model_capacity_steps_per_second");
  EXPECT_GT(measured, 0.0);
  EXPECT_LE(measured, 500.0);

  Config off = config_with_load(1000, 10.0, 2.0);
  off.worker.capacity_check = WorkerConfig::CapacityCheck::kOff;
  connectors::Metrics unmeasured;
  EXPECT_EQ(refusal(off, &unmeasured), "");
  EXPECT_EQ(unmeasured.scrape().find("mscred_model_capacity_steps_per_second{"), std::string::npos);
}

TEST(CapacityTest, UndeclaredLoadIsNotMeasured) {
  connectors::Metrics metrics;
  EXPECT_EQ(refusal(config_with_load(0, 10.0, 2.0), &metrics), "");
  EXPECT_EQ(metrics.scrape().find("mscred_model_capacity_steps_per_second{"), std::string::npos);
}

TEST(CapacityTest, ReloadOfTooSlowModelKeepsTheLoadedOne) {
  // The first load is the plain fake (fast); the reload brings a 20 ms/window version,
  // at most 50 steps/s against 100 x 1 / 2 x 1.5 = 75 needed.
  Config c = config_with_load(100, 1.0, 0.0);
  std::atomic<int> loads{0};
  auto loader = [&](const ModelConfig& m, const Config& cc) -> std::unique_ptr<StepScorer> {
    auto fake = load_scorer(m, cc);
    if (++loads == 1) return fake;
    return std::make_unique<CostlyScorer>(std::move(fake), 20ms);
  };
  connectors::Metrics metrics;
  RecordQueue q(64);
  Worker w(c, q, {}, &metrics, loader);
  const double before = gauge(metrics.scrape(), "mscred_model_capacity_steps_per_second");
  ASSERT_GT(before, 75.0);
  w.start();
  w.request_reload();
  for (int i = 0; i < 200 && loads.load() < 2; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(loads.load(), 2);
  ASSERT_TRUE(w.drain(std::chrono::steady_clock::now() + 5s));  // the reload finishes first
  // Refused: the gauge still shows the first model's measurement, not the slow one's.
  EXPECT_DOUBLE_EQ(gauge(metrics.scrape(), "mscred_model_capacity_steps_per_second"), before);

  // And with warn, the slow model is taken (its measurement replaces the gauge).
  c.worker.capacity_check = WorkerConfig::CapacityCheck::kWarn;
  loads = 0;
  RecordQueue q2(64);
  Worker w2(c, q2, {}, &metrics, loader);
  w2.start();
  w2.request_reload();
  for (int i = 0; i < 200 && loads.load() < 2; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(w2.drain(std::chrono::steady_clock::now() + 5s));
  EXPECT_LE(gauge(metrics.scrape(), "mscred_model_capacity_steps_per_second"), 50.0);
}

}  // namespace
}  // namespace mscred::daemon
