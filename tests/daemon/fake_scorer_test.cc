// The fake scorer against hand-worked windows.
#include <gtest/gtest.h>

#include "mscred/daemon/entity_state.h"
#include "mscred/daemon/fake_scorer.h"
#include "mscred/pipeline/signature.h"

namespace mscred::daemon {
namespace {

TEST(FakeScorerTest, ScoresCountExceedancesPerScale) {
  // 2 sensors, scales {2, 4}, step 2, history 1 -> 4 rows.
  FakeScorer s("m", {"a", "b"}, {2, 4}, 2, 1, 1.0, 3);
  ASSERT_EQ(s.info().window_floats, 8u);
  // Rows oldest first: [2,0] [0,0] [0,-3] [0,0]
  const float w[] = {2, 0, 0, 0, 0, -3, 0, 0};
  auto out = s.score(w, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0].scores[0], 1.0);  // newest 2 rows: only -3
  EXPECT_DOUBLE_EQ(out[0].scores[1], 2.0);  // all 4 rows: 2 and -3
  ASSERT_TRUE(out[0].detected);
  ASSERT_EQ(out[0].top_sensors.size(), 1u);
  EXPECT_EQ(out[0].top_sensors[0].index, 1u);
  EXPECT_DOUBLE_EQ(out[0].top_sensors[0].mass, 2.0);  // |-3| - 1
  EXPECT_EQ(out[0].severity, "short");
}

TEST(FakeScorerTest, QuietWindowIsNotDetected) {
  FakeScorer s("m", {"a", "b"}, {2, 4}, 2, 1, 1.0, 3);
  // An old excursion (row 0) is outside the newest step.
  const float w[] = {5, 5, 0, 0, 0, 0, 0, 0};
  auto out = s.score(w, 1);
  EXPECT_FALSE(out[0].detected);
  EXPECT_DOUBLE_EQ(out[0].scores[1], 2.0);
}

TEST(EntityStateTest, EmitsEveryStepAndWarmsUp) {
  ScorerInfo info;
  info.sensors = {"a"};
  info.scales = {2, 4};
  info.step = 2;
  info.history = 2;  // 4 + 1*2 = 6 rows
  info.window_floats = 6;
  ASSERT_EQ(window_rows(info), 6u);
  auto state = make_entity_state(info);
  std::vector<bool> emitted, ready;
  for (int i = 0; i < 8; ++i) {
    double v = i;
    emitted.push_back(state->push(&v));
    ready.push_back(state->window_ready());
  }
  EXPECT_EQ(emitted, (std::vector<bool>{false, true, false, true, false, true, false, true}));
  EXPECT_EQ(ready, (std::vector<bool>{false, false, false, false, false, true, true, true}));
  float w[6];
  state->window(w);
  for (int r = 0; r < 6; ++r)
    EXPECT_FLOAT_EQ(w[r], static_cast<float>(r + 2));  // rows 2..7
}

}  // namespace
}  // namespace mscred::daemon

namespace mscred::daemon {
namespace {

// The signature layout against pipeline's from-scratch definition on normalised rows.
TEST(EntityStateTest, SignatureLayoutMatchesFromScratchDefinition) {
  ScorerInfo info;
  info.layout = WindowLayout::kSignatures;
  info.model_id = "sig";
  info.sensors = {"a", "b", "c"};
  info.scales = {2, 4};
  info.step = 2;
  info.history = 2;
  const size_t n = 3, scales = 2, h = 2;
  info.window_floats = h * scales * n * n;
  info.normaliser = pipeline::Normaliser::from_parameters(pipeline::NormKind::kMinMax,
                                                          {0.0, 1.0, -2.0}, {2.0, 4.0, 1.0});
  auto state = make_entity_state(info);

  std::vector<double> normalised;  // rows after (x - offset) / scale, by hand
  std::vector<size_t> step_ends;   // sample count at each emitted step
  for (int t = 0; t < 12; ++t) {
    double row[3] = {0.5 * t, 1.0 + (t % 3), -1.0 * t};
    normalised.push_back((row[0] - 0.0) / 2.0);
    normalised.push_back((row[1] - 1.0) / 4.0);
    normalised.push_back((row[2] + 2.0) / 1.0);
    if (state->push(row)) step_ends.push_back(static_cast<size_t>(t + 1));
  }
  ASSERT_TRUE(state->window_ready());
  ASSERT_GE(step_ends.size(), h);

  std::vector<float> window(info.window_floats);
  state->window(window.data());
  for (size_t k = 0; k < h; ++k) {
    size_t end = step_ends[step_ends.size() - h + k];  // oldest first
    for (size_t s = 0; s < scales; ++s) {
      std::vector<double> expected(n * n);
      pipeline::signature_from_scratch(normalised.data(), n, end, info.scales[s], expected.data());
      for (size_t i = 0; i < n * n; ++i) {
        EXPECT_NEAR(window[(k * scales + s) * n * n + i], expected[i], 1e-5)
            << "step " << k << " scale " << s << " cell " << i;
      }
    }
  }
}

TEST(EntityStateTest, SignatureLayoutNeedsNormaliser) {
  ScorerInfo info;
  info.layout = WindowLayout::kSignatures;
  info.sensors = {"a", "b"};
  info.scales = {2};
  EXPECT_THROW(make_entity_state(info), std::invalid_argument);
}

}  // namespace
}  // namespace mscred::daemon
