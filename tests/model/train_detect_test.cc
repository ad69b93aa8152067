// End to end on a tiny model: train on correlated sinusoids, replay a test stream with a
// shock in three sensors through EntityState -> Detector::score, and check that the shock
// is detected and blamed on the right sensors, for both objectives (reconstruct, forecast).
// Also checkpoint round trip and refusals through Detector::load. Torch-free: only public
// headers.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "mscred/model/checkpoint.h"
#include "mscred/model/detector.h"
#include "mscred/model/train.h"
#include "mscred/pipeline/entity_state.h"
#include "mscred/pipeline/evaluation.h"
#include "mscred/pipeline/scoring.h"

namespace mscred::model {
namespace {

constexpr std::size_t kSensors = 8;
constexpr std::size_t kShockBegin = 200;
constexpr std::size_t kShockEnd = 220;
const std::set<int> kShocked = {1, 4, 6};

// Two groups of sensors, each following one sinusoid with its own phase and small noise,
// so the correlations between sensors are stable and learnable.
std::vector<double> sinusoids(std::size_t rows, unsigned seed, bool shock) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.03);
  std::vector<double> v(rows * kSensors);
  for (std::size_t t = 0; t < rows; ++t) {
    for (std::size_t i = 0; i < kSensors; ++i) {
      const double period = i % 2 == 0 ? 40.0 : 25.0;
      double x = std::sin(2 * M_PI * double(t) / period + 0.4 * double(i)) + noise(rng);
      if (shock && t >= kShockBegin && t < kShockEnd && kShocked.count(int(i))) {
        x += 3.0 * ((t % 2) ? 1.0 : -1.0);  // a shock well outside the normal range
      }
      v[t * kSensors + i] = x;
    }
  }
  return v;
}

std::vector<std::string> names() {
  std::vector<std::string> s;
  for (std::size_t i = 0; i < kSensors; ++i)
    s.push_back("s" + std::to_string(i));
  return s;
}

TrainOptions tiny_options(const std::string& path) {
  TrainOptions o;
  o.model_id = "tiny";
  o.output_path = path;
  o.signature.scales = {5, 10};
  o.signature.step = 5;
  o.signature.history = 3;
  o.validation_fraction = 0.25;
  o.learning_rate = 2e-3;
  o.batch_size = 16;
  o.epochs = 10;
  o.patience = 5;
  o.seed = 1;
  // A tiny model trained for seconds reconstructs far less sharply than a full one; with the
  // default theta = 0.005 a shock makes nearly every element "poorly reconstructed" and the
  // counts per sensor tie. theta = 0.05 keeps only the clearly broken elements.
  o.score.theta = 0.05;
  o.threads = 1;
  // The paper's form here (the default is forecast); ForecastTrainDetectTest below trains the
  // other one from the same options.
  o.objective = Objective::kReconstruct;
  return o;
}

// One tiny model per objective, shared by the tests of a suite (training is the slow part).
template <Objective kObjective>
class TinyModelSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = new std::string(std::string(MSCRED_BINARY_DIR) + "/train_detect_" +
                            to_string(kObjective) + ".ckpt");
    auto o = tiny_options(*path_);
    o.objective = kObjective;
    report_ = new TrainReport(train(names(), sinusoids(600, 0, false), o));
  }
  static void TearDownTestSuite() {
    std::remove(path_->c_str());
    delete report_;
    delete path_;
  }
  static inline std::string* path_ = nullptr;
  static inline TrainReport* report_ = nullptr;
};
using TrainDetectTest = TinyModelSuite<Objective::kReconstruct>;

TEST_F(TrainDetectTest, TrainingLearnsAndHoldsOutTheTail) {
  ASSERT_FALSE(report_->val_loss.empty());
  EXPECT_LT(*std::min_element(report_->val_loss.begin(), report_->val_loss.end()),
            report_->train_loss.front());
  // 600 rows, split at 450. Steps at rows 9, 14, ..., windows reach 2*5+10-1 = 19 rows back:
  // training windows have newest row 19..449 (step rows 19 + 5k < 450): 87 windows;
  // validation windows have oldest row >= 450, i.e. newest >= 469: rows 469..599: 27 windows.
  EXPECT_EQ(report_->train_windows, 87u);
  EXPECT_EQ(report_->validation_windows, 27u);
  EXPECT_EQ(report_->info.thresholds.tau.size(), 2u);
  // The default --batch-order auto trains a reconstructing model on shuffled batches.
  EXPECT_EQ(report_->batch_order, BatchOrder::kShuffled);
  EXPECT_NE(report_->info.training_summary_json.find("\"batch_order\":\"shuffled\""),
            std::string::npos)
      << report_->info.training_summary_json;
}

// Replays a test stream with the shock through EntityState -> Detector::score and checks that
// the shock is detected and blamed on the shocked sensors (`forecast`: see the end).
void expect_detects_the_shock(const std::string& path, bool forecast) {
  auto det = Detector::load(path, DeviceOptions{"cpu", 1}, names());
  const auto& info = det->info();
  pipeline::EntityState state(info.normaliser, info.signature);
  const auto test = sinusoids(400, 7, true);
  std::vector<float> window(state.window_size());
  std::vector<float> residual(det->matrix_size());
  std::vector<std::vector<pipeline::SensorRank>> shock_ranks;
  std::size_t detections_before = 0, steps_before = 0, steps_in = 0, step_hits = 0;
  for (std::size_t t = 0; t < 400; ++t) {
    if (!state.push(double(t), test.data() + t * kSensors)) continue;
    state.window(window.data());
    const auto d = det->score(window.data(), 1).front();
    const auto row = state.last_step_row();
    if (row < kShockBegin) {
      ++steps_before;
      detections_before += d.detected;
    } else if (row >= kShockBegin + 4 && row < kShockEnd) {
      // Steps whose newest samples are inside the shock must detect it, and most of their
      // top 3 sensors must be shocked ones (the convolutions smear some residual onto the
      // neighbouring rows of the matrix, so one neighbour may slip in at a single step).
      ++steps_in;
      EXPECT_TRUE(d.detected) << "row " << row;
      ASSERT_EQ(d.top_sensors.size(), 3u);
      std::size_t hits = 0;
      for (const auto& s : d.top_sensors)
        hits += kShocked.count(s.sensor);
      EXPECT_GE(hits, 2u) << "row " << row;
      step_hits += hits;
      det->residuals(window.data(), 1, residual.data());
      shock_ranks.push_back(pipeline::rank_sensors(residual.data(), 2, kSensors,
                                                   info.score.detect_scale, info.score.theta));
    }
  }
  ASSERT_EQ(steps_in, 4u);  // newest rows 204, 209, 214, 219
  EXPECT_LE(detections_before, steps_before / 10) << "false alarms before the shock";
  // Over the whole shock (the paper's root-cause measure), the top 3 are exactly the shocked.
  const auto total = pipeline::aggregate_sensor_ranks(shock_ranks, 0, shock_ranks.size(), kSensors);
  std::set<int> top3 = {total[0].sensor, total[1].sensor, total[2].sensor};
  if (!forecast) {
    EXPECT_EQ(top3, kShocked);
    return;
  }
  // A forecasting model predicts each step from the steps before it. From the second step in
  // the shock on, those inputs hold the shock too and the prediction of the other sensors
  // degrades as well (measured here: unshocked s2 has more elements above theta than shocked
  // s6 over the four steps). The first step in the shock is predicted from clean steps:
  // there the top 3 are exactly the shocked sensors; over the shock, at least 2 of 3.
  std::set<int> first = {shock_ranks[0][0].sensor, shock_ranks[0][1].sensor,
                         shock_ranks[0][2].sensor};
  EXPECT_EQ(first, kShocked);
  std::size_t shocked_in_top3 = 0;
  for (int s : top3)
    shocked_in_top3 += kShocked.count(s);
  EXPECT_GE(shocked_in_top3, 2u);
}

TEST_F(TrainDetectTest, DetectsTheShockAndNamesTheShockedSensors) {
  expect_detects_the_shock(*path_, false);
}

// Thresholds were computed from the in-memory network at the end of training; recomputing
// them from the loaded checkpoint over the same validation windows must give the same
// numbers, i.e. save + load changed no output.
void expect_stored_thresholds(const std::string& path) {
  auto det = Detector::load(path, DeviceOptions{"cpu", 1});
  const auto& info = det->info();
  pipeline::EntityState state(info.normaliser, info.signature);
  const auto values = sinusoids(600, 0, false);
  std::vector<float> window(state.window_size());
  std::vector<double> max_count(2, 0.0);
  double max_total = 0.0;
  for (std::size_t t = 0; t < 600; ++t) {
    if (!state.push(double(t), values.data() + t * kSensors)) continue;
    if (state.last_step_row() < 469) continue;
    state.window(window.data());
    const auto d = det->score(window.data(), 1).front();
    for (std::size_t s = 0; s < 2; ++s)
      max_count[s] = std::max(max_count[s], double(d.score.count[s]));
    max_total = std::max(max_total, double(d.score.total));
  }
  for (std::size_t s = 0; s < 2; ++s) {
    EXPECT_DOUBLE_EQ(info.thresholds.tau[s], info.score.beta * max_count[s]) << "scale " << s;
  }
  EXPECT_DOUBLE_EQ(info.thresholds.tau_total, info.score.beta * max_total);
}

TEST_F(TrainDetectTest, LoadedModelReproducesTheStoredThresholds) {
  expect_stored_thresholds(*path_);
}

// An entity's windows from the streaming pipeline: the cached path gives the plain path's
// residuals and detections; every window after the first is a cache hit.
void expect_stream_equals_plain(const std::string& path) {
  auto det = Detector::load(path, DeviceOptions{"cpu", 1});
  const auto& info = det->info();
  pipeline::EntityState state(info.normaliser, info.signature);
  const auto values = sinusoids(300, 0, false);
  std::vector<float> window(state.window_size());
  std::size_t windows = 0;
  const std::uint64_t id = 42;
  for (std::size_t t = 0; t < 300; ++t) {
    if (!state.push(double(t), values.data() + t * kSensors)) continue;
    state.window(window.data());
    std::vector<float> plain;
    std::vector<float> streamed;
    const auto a = det->score(window.data(), 1, &plain).front();
    const auto b = det->score_stream(window.data(), 1, &id, &streamed).front();
    ASSERT_EQ(plain.size(), streamed.size());
    for (std::size_t i = 0; i < plain.size(); ++i)
      ASSERT_NEAR(plain[i], streamed[i], 1e-5) << "window " << windows << " element " << i;
    EXPECT_EQ(a.detected, b.detected);
    ++windows;
  }
  ASSERT_GT(windows, 5u);
  const auto st = det->stream_stats();
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.hits, windows - 1);
  EXPECT_EQ(st.streams, 1u);
  det->forget_stream(id);
  EXPECT_EQ(det->stream_stats().streams, 0u);
}

TEST_F(TrainDetectTest, StreamScoringEqualsPlainScoringAndReusesTheCache) {
  expect_stream_equals_plain(*path_);
}

TEST_F(TrainDetectTest, TwoLoadsGiveIdenticalOutputsAndBatchEqualsSingle) {
  auto a = Detector::load(*path_, DeviceOptions{"cpu", 1});
  auto b = Detector::load(*path_, DeviceOptions{"auto", 1});
  EXPECT_EQ(b->device(), "cpu");  // Debian's LibTorch has no CUDA
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.f, 0.5f);
  std::vector<float> w(2 * a->window_size());
  for (auto& x : w)
    x = u(rng);
  std::vector<float> ra(2 * a->matrix_size()), rb(2 * a->matrix_size()), r1(a->matrix_size());
  a->reconstruct(w.data(), 2, ra.data());
  b->reconstruct(w.data(), 2, rb.data());
  EXPECT_EQ(ra, rb);
  a->reconstruct(w.data() + a->window_size(), 1, r1.data());
  for (std::size_t i = 0; i < r1.size(); ++i) {
    ASSERT_NEAR(r1[i], ra[a->matrix_size() + i], 1e-5) << i;
  }
  // residuals = (newest step - reconstruction)^2, checked element by element.
  std::vector<float> res(2 * a->matrix_size());
  a->residuals(w.data(), 2, res.data());
  const std::size_t newest = 2 * a->matrix_size();  // offset of step 2 of window 0
  for (std::size_t i = 0; i < a->matrix_size(); ++i) {
    const float diff = w[newest + i] - ra[i];
    ASSERT_NEAR(res[i], diff * diff, 1e-6) << i;
  }
}

TEST(OneDnnPolicyTest, AutoMeansOneDnnFromTwoThreads) {
  EXPECT_FALSE(onednn_in_effect(OneDnn::kAuto, 1));
  EXPECT_TRUE(onednn_in_effect(OneDnn::kAuto, 2));
  EXPECT_TRUE(onednn_in_effect(OneDnn::kAuto, 16));
  EXPECT_TRUE(onednn_in_effect(OneDnn::kOn, 1));
  EXPECT_FALSE(onednn_in_effect(OneDnn::kOff, 2));
  EXPECT_EQ(parse_onednn("on"), OneDnn::kOn);
  EXPECT_EQ(parse_onednn("off"), OneDnn::kOff);
  EXPECT_EQ(parse_onednn("auto"), OneDnn::kAuto);
  try {
    parse_onednn("yes");
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'yes'"), std::string::npos) << e.what();
  }
}

// The oneDNN kernels compute the same model: a detector loaded with onednn on gives the
// outputs of one loaded with it off, within float tolerance, plain and streaming; auto
// turns it on at 2 threads and leaves it off at 1.
TEST_F(TrainDetectTest, OneDnnConvolutionsGiveTheSameOutputs) {
  auto off = Detector::load(*path_, DeviceOptions{"cpu", 1, OneDnn::kOff});
  auto on = Detector::load(*path_, DeviceOptions{"cpu", 1, OneDnn::kOn});
  EXPECT_FALSE(off->onednn());
  if (!on->onednn()) GTEST_SKIP() << "this LibTorch has no oneDNN";
  EXPECT_FALSE(Detector::load(*path_, DeviceOptions{"cpu", 1, OneDnn::kAuto})->onednn());
  EXPECT_TRUE(Detector::load(*path_, DeviceOptions{"cpu", 2, OneDnn::kAuto})->onednn());
  Detector::load(*path_, DeviceOptions{"cpu", 1});  // back to the suite's 1 thread
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.f, 0.5f);
  std::vector<float> w(3 * off->window_size());
  for (auto& x : w)
    x = u(rng);
  std::vector<float> a(3 * off->matrix_size()), b(a.size());
  off->reconstruct(w.data(), 3, a.data());
  on->reconstruct(w.data(), 3, b.data());
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], 1e-5) << i;
  off->reconstruct(w.data(), 1, a.data());
  on->reconstruct(w.data(), 1, b.data());
  for (std::size_t i = 0; i < off->matrix_size(); ++i)
    ASSERT_NEAR(a[i], b[i], 1e-5) << i;
  // Streaming: three streams, then each advanced by one step (cache hits on the second call),
  // against the plain output of the same windows.
  const std::uint64_t ids[3] = {1, 2, 3};
  std::vector<float> s(a.size());
  on->reconstruct_stream(w.data(), 3, ids, s.data());
  off->reconstruct(w.data(), 3, a.data());
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], s[i], 1e-5) << i;
  const auto step = off->window_size() / off->info().net.history;
  std::vector<float> next(w.size());
  for (std::size_t k = 0; k < 3; ++k) {
    const float* src = w.data() + k * off->window_size();
    float* dst = next.data() + k * off->window_size();
    std::copy(src + step, src + off->window_size(), dst);
    for (std::size_t i = 0; i < step; ++i)
      dst[off->window_size() - step + i] = u(rng);
  }
  on->reconstruct_stream(next.data(), 3, ids, s.data());
  off->reconstruct(next.data(), 3, a.data());
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], s[i], 1e-5) << i;
  EXPECT_EQ(on->stream_stats().hits, 3u);
}

TEST_F(TrainDetectTest, CheckpointKeepsEverythingTheDaemonNeeds) {
  auto det = Detector::load(*path_, DeviceOptions{"cpu", 1});
  const auto& info = det->info();
  EXPECT_EQ(info.sensors, names());
  EXPECT_EQ(info.signature.scales, (std::vector<int>{5, 10}));
  EXPECT_EQ(info.signature.step, 5);
  EXPECT_EQ(info.net.history, 3);
  EXPECT_EQ(info.net.lstm_kernel, 3);
  EXPECT_EQ(info.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(info.data_digest, data_digest(names(), sinusoids(600, 0, false)));
  EXPECT_EQ(info.model_id, "tiny-" + info.data_digest.substr(0, 8));
  EXPECT_EQ(info.normaliser.size(), kSensors);
  EXPECT_DOUBLE_EQ(info.score.beta, 1.5);
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string load_error(const std::string& bytes, const std::vector<std::string>& sensors = {}) {
  const std::string path = std::string(MSCRED_BINARY_DIR) + "/train_detect_bad.ckpt";
  std::ofstream(path, std::ios::binary) << bytes;
  try {
    Detector::load(path, DeviceOptions{"cpu", 1}, sensors);
  } catch (const CheckpointError& e) {
    std::remove(path.c_str());
    return e.what();
  }
  std::remove(path.c_str());
  return "";
}

TEST_F(TrainDetectTest, RefusesCorruptTruncatedOtherVersionAndOtherSensors) {
  const auto good = bytes_of(*path_);
  auto corrupt = good;
  corrupt[good.size() / 3] ^= 0x01;
  EXPECT_NE(load_error(corrupt).find("checksum mismatch"), std::string::npos);
  EXPECT_NE(load_error(good.substr(0, good.size() / 2)).find("checksum mismatch"),
            std::string::npos);

  auto contents = parse_checkpoint(good, "mem");
  contents.format_version = 7;
  EXPECT_NE(load_error(serialize_checkpoint(contents)).find("format version 7"), std::string::npos);

  auto other = names();
  other[5] = "pressure";
  const auto msg = load_error(good, other);
  EXPECT_NE(msg.find("sensor set differs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("position 5: model 's5', data 'pressure'"), std::string::npos) << msg;
  EXPECT_NE(load_error(good, {"a", "b"}).find("model has 8 sensors, data has 2"),
            std::string::npos);
}

TEST_F(TrainDetectTest, RefusesMetadataThatDoesNotMatchTheTensors) {
  auto contents = parse_checkpoint(bytes_of(*path_), "mem");
  // Switch the ConvLSTM kernel in the metadata only: the tensors no longer fit the network.
  const auto pos = contents.metadata_json.find("\"lstm_kernel\": 3");
  ASSERT_NE(pos, std::string::npos) << contents.metadata_json;
  contents.metadata_json.replace(pos, 16, "\"lstm_kernel\": 2");
  const auto msg = load_error(serialize_checkpoint(contents));
  EXPECT_NE(msg.find("lstm.0.conv.weight has shape"), std::string::npos) << msg;

  auto no_key = parse_checkpoint(bytes_of(*path_), "mem");
  const auto t = no_key.metadata_json.find("\"thresholds\"");
  no_key.metadata_json.replace(t, 12, "\"thresholdz\"");
  EXPECT_NE(load_error(serialize_checkpoint(no_key)).find("missing key thresholds"),
            std::string::npos);
}

TEST_F(TrainDetectTest, CudaFailsClearlyWithoutCuda) {
  // Debian's LibTorch is CPU-only; where CUDA exists the load must simply succeed.
  try {
    auto det = Detector::load(*path_, DeviceOptions{"cuda:0", 1});
    EXPECT_EQ(det->device(), "cuda:0");
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Detector::load(*path_, DeviceOptions{"tpu", 1}), std::runtime_error);
}

// The checkpoint's metadata with net.objective removed (as written before the field
// existed) or set to `value` (a JSON value).
std::string with_objective(const std::string& checkpoint, const nlohmann::json* value) {
  auto contents = parse_checkpoint(checkpoint, "mem");
  auto meta = nlohmann::json::parse(contents.metadata_json);
  if (value == nullptr) {
    meta["net"].erase("objective");
  } else {
    meta["net"]["objective"] = *value;
  }
  contents.metadata_json = meta.dump(1);
  return serialize_checkpoint(contents);
}

TEST_F(TrainDetectTest, CheckpointWithoutObjectiveLoadsAsReconstruct) {
  const auto good = bytes_of(*path_);
  ASSERT_NE(parse_checkpoint(good, "mem").metadata_json.find("\"objective\": \"reconstruct\""),
            std::string::npos);
  const std::string old_path = std::string(MSCRED_BINARY_DIR) + "/train_detect_old.ckpt";
  std::ofstream(old_path, std::ios::binary) << with_objective(good, nullptr);
  auto old_det = Detector::load(old_path, DeviceOptions{"cpu", 1});
  std::remove(old_path.c_str());
  EXPECT_EQ(old_det->info().net.objective, Objective::kReconstruct);
  auto det = Detector::load(*path_, DeviceOptions{"cpu", 1});
  std::vector<float> w(det->window_size(), 0.25f);
  std::vector<float> a(det->matrix_size()), b(det->matrix_size());
  det->reconstruct(w.data(), 1, a.data());
  old_det->reconstruct(w.data(), 1, b.data());
  EXPECT_EQ(a, b);
}

TEST_F(TrainDetectTest, RefusesAnUnknownObjective) {
  const auto good = bytes_of(*path_);
  const nlohmann::json predict = "predict";
  auto msg = load_error(with_objective(good, &predict));
  EXPECT_NE(msg.find("net.objective must be reconstruct or forecast, got 'predict'"),
            std::string::npos)
      << msg;
  const nlohmann::json number = 1;
  msg = load_error(with_objective(good, &number));
  EXPECT_NE(msg.find("key net.objective has the wrong type"), std::string::npos) << msg;
}

// The same tiny set-up trained with objective forecast: predicts each window's newest step
// from the h - 1 = 2 before it.
using ForecastTrainDetectTest = TinyModelSuite<Objective::kForecast>;

TEST_F(ForecastTrainDetectTest, TrainingLearns) {
  ASSERT_FALSE(report_->val_loss.empty());
  EXPECT_LT(*std::min_element(report_->val_loss.begin(), report_->val_loss.end()),
            report_->train_loss.front());
  EXPECT_EQ(report_->train_windows, 87u);  // windows stay h steps: as for reconstruct
  EXPECT_EQ(report_->validation_windows, 27u);
  // ... and a forecasting one on contiguous batches (shared steps).
  EXPECT_EQ(report_->batch_order, BatchOrder::kContiguous);
  EXPECT_NE(report_->info.training_summary_json.find("\"batch_order\":\"contiguous\""),
            std::string::npos)
      << report_->info.training_summary_json;
}

TEST_F(ForecastTrainDetectTest, DetectsTheShockAndNamesTheShockedSensors) {
  expect_detects_the_shock(*path_, true);
}

TEST_F(ForecastTrainDetectTest, LoadedModelReproducesTheStoredThresholds) {
  expect_stored_thresholds(*path_);
}

TEST_F(ForecastTrainDetectTest, StreamScoringEqualsPlainScoringAndReusesTheCache) {
  expect_stream_equals_plain(*path_);
}

TEST_F(ForecastTrainDetectTest, CheckpointKeepsTheObjectiveAndTheNewestStepIsNotRead) {
  auto det = Detector::load(*path_, DeviceOptions{"cpu", 1});
  EXPECT_EQ(det->info().net.objective, Objective::kForecast);
  EXPECT_EQ(input_steps(det->info().net), 2);
  const auto summary = nlohmann::json::parse(det->info().training_summary_json);
  EXPECT_EQ(summary.at("objective"), "forecast");
  // Changing a window's newest step leaves the output alone but changes the residual by
  // exactly (new - output)^2.
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(0.f, 0.5f);
  std::vector<float> w(det->window_size());
  for (auto& x : w)
    x = u(rng);
  auto w2 = w;
  const std::size_t newest = 2 * det->matrix_size();
  for (std::size_t i = newest; i < w2.size(); ++i)
    w2[i] = u(rng);
  std::vector<float> a(det->matrix_size()), b(det->matrix_size()), r(det->matrix_size());
  det->reconstruct(w.data(), 1, a.data());
  det->reconstruct(w2.data(), 1, b.data());
  EXPECT_EQ(a, b);
  det->residuals(w2.data(), 1, r.data());
  for (std::size_t i = 0; i < r.size(); ++i) {
    const float diff = w2[newest + i] - a[i];
    ASSERT_NEAR(r[i], diff * diff, 1e-6) << i;
  }
}

TEST(TrainTest, AutoBatchOrderFollowsTheObjective) {
  EXPECT_EQ(TrainOptions{}.batch_order, BatchOrder::kAuto);
  EXPECT_EQ(parse_batch_order("auto"), BatchOrder::kAuto);
  EXPECT_EQ(resolve_batch_order(BatchOrder::kAuto, Objective::kForecast), BatchOrder::kContiguous);
  EXPECT_EQ(resolve_batch_order(BatchOrder::kAuto, Objective::kReconstruct), BatchOrder::kShuffled);
  EXPECT_EQ(resolve_batch_order(BatchOrder::kShuffled, Objective::kForecast),
            BatchOrder::kShuffled);
  EXPECT_EQ(resolve_batch_order(BatchOrder::kContiguous, Objective::kReconstruct),
            BatchOrder::kContiguous);
  EXPECT_STREQ(to_string(BatchOrder::kAuto), "auto");
}

TEST(TrainTest, RefusesTooLittleData) {
  auto o = tiny_options(std::string(MSCRED_BINARY_DIR) + "/never_written.ckpt");
  try {
    train(names(), sinusoids(30, 0, false), o);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("30 rows give"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mscred::model
