// EntityState: normalisation + signature windows + timestamp bookkeeping. Torch-free.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mscred/pipeline/entity_state.h"

namespace mscred::pipeline {
namespace {

SignatureConfig small_config() {
  SignatureConfig c;
  c.scales = {2, 4};
  c.step = 2;
  c.history = 2;
  return c;
}

Normaliser affine() {
  return Normaliser::from_parameters(NormKind::kMinMax, {1.0, -2.0, 0.0}, {2.0, 4.0, 0.5});
}

std::vector<double> rows(std::size_t count) {
  std::vector<double> v(count * 3);
  for (std::size_t t = 0; t < count; ++t) {
    v[t * 3 + 0] = 1.0 + std::sin(0.7 * double(t));
    v[t * 3 + 1] = -2.0 + 3.0 * std::cos(0.3 * double(t));
    v[t * 3 + 2] = 0.1 * double(t % 5);
  }
  return v;
}

TEST(EntityStateTest, WindowIsSignaturesOfNormalisedSamples) {
  EntityState state(affine(), small_config());
  const auto raw = rows(12);
  // By hand: normalised copy, then the window's two steps from scratch.
  std::vector<double> norm = raw;
  const double offset[3] = {1.0, -2.0, 0.0}, scale[3] = {2.0, 4.0, 0.5};
  for (std::size_t t = 0; t < 12; ++t)
    for (std::size_t i = 0; i < 3; ++i)
      norm[t * 3 + i] = (raw[t * 3 + i] - offset[i]) / scale[i];

  std::vector<std::uint64_t> ready_rows;
  std::vector<float> window(state.window_size());
  ASSERT_EQ(state.window_size(), 2u * 2u * 9u);
  for (std::size_t t = 0; t < 12; ++t) {
    if (!state.push(10.0 * double(t), raw.data() + t * 3)) continue;
    ready_rows.push_back(state.last_step_row());
    EXPECT_DOUBLE_EQ(state.last_step_timestamp(), 10.0 * double(t));
    state.window(window.data());
    // Steps at rows 3, 5, 7, ...; window = steps (row-2, row), oldest first.
    for (int h = 0; h < 2; ++h) {
      const std::size_t end = t + 1 - std::size_t(2 * (1 - h));
      for (int s = 0; s < 2; ++s) {
        double expected[9];
        signature_from_scratch(norm.data(), 3, end, small_config().scales[std::size_t(s)],
                               expected);
        for (int e = 0; e < 9; ++e) {
          EXPECT_NEAR(window[std::size_t((h * 2 + s) * 9 + e)], expected[e], 1e-5)
              << "row " << t << " h " << h << " s " << s << " e " << e;
        }
      }
    }
  }
  // First step at row 3 (max scale 4), the first full window of 2 steps at row 5.
  EXPECT_EQ(ready_rows, (std::vector<std::uint64_t>{5, 7, 9, 11}));
  EXPECT_EQ(state.steps_skipped(), 1u);  // row 3: step emitted, window not yet full
  EXPECT_EQ(state.rows(), 12u);
  EXPECT_EQ(state.out_of_order(), 0u);
}

TEST(EntityStateTest, CountsTimestampsThatDoNotAdvance) {
  EntityState state(affine(), small_config());
  const auto raw = rows(4);
  state.push(5.0, raw.data());
  state.push(5.0, raw.data() + 3);
  state.push(4.0, raw.data() + 6);
  state.push(6.0, raw.data() + 9);
  EXPECT_EQ(state.out_of_order(), 2u);
  EXPECT_EQ(state.rows(), 4u);
}

TEST(EntityStateTest, MissingValuesInvalidateWindowsUnderInvalidStepPolicy) {
  auto config = small_config();
  config.missing = MissingPolicy::kInvalidStep;
  EntityState state(affine(), config);
  auto raw = rows(16);
  raw[6 * 3 + 1] = NAN;  // row 6 missing one value
  std::vector<std::uint64_t> ready;
  for (std::size_t t = 0; t < 16; ++t) {
    if (state.push(double(t), raw.data() + t * 3)) ready.push_back(state.last_step_row());
  }
  // Steps at 7 and 9 contain row 6 in their 4-sample window; windows ending at 7, 9, 11
  // contain an invalid step. Ready: 5, 13, 15.
  EXPECT_EQ(ready, (std::vector<std::uint64_t>{5, 13, 15}));
  EXPECT_EQ(state.steps_skipped(), 4u);  // row 3 (not full) + 7, 9, 11
}

TEST(EntityStateTest, ResetForgetsSamples) {
  EntityState state(affine(), small_config());
  const auto raw = rows(8);
  for (std::size_t t = 0; t < 8; ++t)
    state.push(double(t), raw.data() + t * 3);
  state.reset();
  EXPECT_EQ(state.rows(), 0u);
  EXPECT_FALSE(state.push(0.0, raw.data()));
}

}  // namespace
}  // namespace mscred::pipeline
