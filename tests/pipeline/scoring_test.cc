// Tests of pipeline/scoring.h against hand-worked examples and a from-scratch reference.
#include "mscred/pipeline/scoring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

namespace mscred::pipeline {
namespace {

constexpr double kTheta = 0.005;

// Hand-worked 3x3 residual (one scale). Elements above theta = 0.005 are marked *.
//            col 0     col 1     col 2
//   row 0:   0.001     0.010*    0.002
//   row 1:   0.020*    0.003     0.004
//   row 2:   0.0049    0.008*    0.030*
// count = 4, mass = 0.0829.
// Sensor k = row k + column k, diagonal once:
//   s0: row {0.001, 0.010*, 0.002} + col {0.020*, 0.0049}  -> count 2, mass 0.0379
//   s1: row {0.020*, 0.003, 0.004} + col {0.010*, 0.008*}  -> count 3, mass 0.045
//   s2: row {0.0049, 0.008*, 0.030*} + col {0.002, 0.004}  -> count 2, mass 0.0489
// Ranking: s1 (count 3 beats the larger mass of s2), then s2 before s0 (tie on 2, by mass).
// Pairs, mean of (i,j) and (j,i): (0,1) 0.015, (0,2) 0.00345, (1,2) 0.006
//   -> order (0,1), (1,2), (0,2).
const std::vector<float> kHand = {0.001f,  0.010f, 0.002f,  //
                                  0.020f,  0.003f, 0.004f,  //
                                  0.0049f, 0.008f, 0.030f};

Thresholds zero_thresholds(std::size_t scales) {
  Thresholds thresholds;
  thresholds.tau.assign(scales, 0.0);
  thresholds.tau_total = 0.0;
  return thresholds;
}

TEST(ScoreResidualTest, CountsAndMassOfHandExample) {
  const StepScore score = score_residual(kHand.data(), 1, 3, kTheta);
  ASSERT_EQ(score.count.size(), 1u);
  EXPECT_EQ(score.count[0], 4);
  EXPECT_EQ(score.total, 4);
  EXPECT_NEAR(score.mass[0], 0.0829, 1e-6);
  EXPECT_EQ(score.nonfinite, 0);
}

TEST(ScoreResidualTest, PerScaleCountsAndTotal) {
  // Scale 0: the hand example (4). Scale 1: all zero (0). Scale 2: two elements at 1 (2).
  std::vector<float> residual(3 * 9, 0.0f);
  std::copy(kHand.begin(), kHand.end(), residual.begin());
  residual[18 + 4] = 1.0f;
  residual[18 + 8] = 1.0f;
  const StepScore score = score_residual(residual.data(), 3, 3, kTheta);
  EXPECT_EQ(score.count, (std::vector<std::int64_t>{4, 0, 2}));
  EXPECT_EQ(score.total, 6);
  EXPECT_NEAR(score.mass[1], 0.0, 1e-12);
  EXPECT_NEAR(score.mass[2], 2.0, 1e-12);
}

TEST(ScoreResidualTest, ElementEqualToThetaIsNotCounted) {
  // theta is compared strictly: a residual of exactly theta is reconstructed well enough.
  const std::vector<float> residual = {0.25f, 0.5f, 0.75f, 1.0f};
  EXPECT_EQ(score_residual(residual.data(), 1, 2, 0.5).count[0], 2);
}

TEST(ScoreResidualTest, NonFiniteElementsAreCountedApartAndLeftOutOfMass) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> residual = {nan, 0.5f, inf, 0.001f};
  const StepScore score = score_residual(residual.data(), 1, 2, kTheta);
  EXPECT_EQ(score.nonfinite, 2);
  EXPECT_EQ(score.count[0], 1);
  EXPECT_NEAR(score.mass[0], 0.501, 1e-6);
}

TEST(ScoreResidualTest, EmptyShapesAndBadThetaThrow) {
  EXPECT_THROW(score_residual(kHand.data(), 0, 3, kTheta), std::invalid_argument);
  EXPECT_THROW(score_residual(kHand.data(), 1, 0, kTheta), std::invalid_argument);
  EXPECT_THROW(score_residual(nullptr, 1, 3, kTheta), std::invalid_argument);
  EXPECT_THROW(score_residual(kHand.data(), 1, 3, std::nan("")), std::invalid_argument);
  EXPECT_THROW(score_residual(kHand.data(), 1, 3, -1.0), std::invalid_argument);
}

TEST(RankSensorsTest, HandExampleCountThenMass) {
  const std::vector<SensorRank> ranks = rank_sensors(kHand.data(), 1, 3, 0, kTheta);
  ASSERT_EQ(ranks.size(), 3u);
  EXPECT_EQ(ranks[0].sensor, 1);
  EXPECT_EQ(ranks[0].count, 3);
  EXPECT_NEAR(ranks[0].mass, 0.045, 1e-6);
  EXPECT_EQ(ranks[1].sensor, 2);
  EXPECT_EQ(ranks[1].count, 2);
  EXPECT_NEAR(ranks[1].mass, 0.0489, 1e-6);
  EXPECT_EQ(ranks[2].sensor, 0);
  EXPECT_EQ(ranks[2].count, 2);
  EXPECT_NEAR(ranks[2].mass, 0.0379, 1e-6);
}

TEST(RankSensorsTest, DiagonalCountsOnceOffDiagonalForBothSensors) {
  // Only (0,0) is poor: sensor 0 gets 1, not 2.
  const std::vector<float> diagonal = {1.0f, 0.0f, 0.0f, 0.0f};
  std::vector<SensorRank> ranks = rank_sensors(diagonal.data(), 1, 2, 0, kTheta);
  EXPECT_EQ(ranks[0].sensor, 0);
  EXPECT_EQ(ranks[0].count, 1);
  EXPECT_NEAR(ranks[0].mass, 1.0, 1e-12);
  EXPECT_EQ(ranks[1].count, 0);
  // Only (0,1) is poor: it counts once for sensor 0 and once for sensor 1.
  const std::vector<float> off = {0.0f, 1.0f, 0.0f, 0.0f};
  ranks = rank_sensors(off.data(), 1, 2, 0, kTheta);
  EXPECT_EQ(ranks[0].count, 1);
  EXPECT_EQ(ranks[1].count, 1);
  EXPECT_EQ(ranks[0].sensor, 0);  // full tie (count and mass): lower index first
}

TEST(RankSensorsTest, AllScalesSumsCountsAndMass) {
  // Scale 0 = hand example, scale 1 = only (2,2) at 1.0 -> sensor 2 gets 2 + 1 = 3, mass 1.0489.
  std::vector<float> residual(18, 0.0f);
  std::copy(kHand.begin(), kHand.end(), residual.begin());
  residual[9 + 8] = 1.0f;
  const std::vector<SensorRank> ranks = rank_sensors(residual.data(), 2, 3, kAllScales, kTheta);
  EXPECT_EQ(ranks[0].sensor, 2);  // count 3, mass 1.0489 beats sensor 1 (count 3, mass 0.045)
  EXPECT_EQ(ranks[0].count, 3);
  EXPECT_NEAR(ranks[0].mass, 1.0489, 1e-6);
  EXPECT_EQ(ranks[1].sensor, 1);
  EXPECT_EQ(ranks[2].sensor, 0);
}

TEST(RankSensorsTest, MatchesFromScratchDefinitionOnRandomMatrices) {
  // Reference: sensor k touches the SET of elements {(k, j)} U {(i, k)}, so the diagonal is in
  // it once by construction; sort by (-count, -mass, index).
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(0.0f, 0.012f);
  const std::size_t scales = 3;
  const std::size_t n = 8;
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> residual(scales * n * n);
    for (float& v : residual)
      v = value(rng);
    for (int scale = 0; scale < static_cast<int>(scales); ++scale) {
      std::vector<std::tuple<std::int64_t, double, int>> expected;
      for (std::size_t k = 0; k < n; ++k) {
        std::set<std::pair<std::size_t, std::size_t>> cells;
        for (std::size_t x = 0; x < n; ++x) {
          cells.insert({k, x});
          cells.insert({x, k});
        }
        std::int64_t count = 0;
        double mass = 0.0;
        for (const auto& [i, j] : cells) {
          const float r = residual[scale * n * n + i * n + j];
          count += r > kTheta ? 1 : 0;
          mass += r;
        }
        expected.emplace_back(-count, -mass, static_cast<int>(k));
      }
      std::sort(expected.begin(), expected.end());
      const std::vector<SensorRank> ranks = rank_sensors(residual.data(), scales, n, scale, kTheta);
      ASSERT_EQ(ranks.size(), n);
      for (std::size_t r = 0; r < n; ++r) {
        EXPECT_EQ(ranks[r].sensor, std::get<2>(expected[r])) << "trial " << trial << " rank " << r;
        EXPECT_EQ(ranks[r].count, -std::get<0>(expected[r]));
        EXPECT_NEAR(ranks[r].mass, -std::get<1>(expected[r]), 1e-9);
      }
    }
  }
}

TEST(RankSensorsTest, SingleSensor) {
  const std::vector<float> residual = {0.1f};
  const std::vector<SensorRank> ranks = rank_sensors(residual.data(), 1, 1, 0, kTheta);
  ASSERT_EQ(ranks.size(), 1u);
  EXPECT_EQ(ranks[0].sensor, 0);
  EXPECT_EQ(ranks[0].count, 1);
  EXPECT_NEAR(ranks[0].mass, 0.1, 1e-7);
}

TEST(RankSensorsTest, ScaleOutOfRangeThrows) {
  EXPECT_THROW(rank_sensors(kHand.data(), 1, 3, 1, kTheta), std::invalid_argument);
  EXPECT_THROW(rank_sensors(kHand.data(), 1, 3, -3, kTheta), std::invalid_argument);
}

TEST(RankPairsTest, HandExampleOrderAndTopK) {
  const std::vector<PairRank> all = rank_pairs(kHand.data(), 1, 3, 0, 10);
  ASSERT_EQ(all.size(), 3u);  // k = 10 is capped at n(n-1)/2 = 3
  EXPECT_EQ(std::make_pair(all[0].i, all[0].j), std::make_pair(0, 1));
  EXPECT_NEAR(all[0].residual, 0.015, 1e-7);
  EXPECT_EQ(std::make_pair(all[1].i, all[1].j), std::make_pair(1, 2));
  EXPECT_NEAR(all[1].residual, 0.006, 1e-7);
  EXPECT_EQ(std::make_pair(all[2].i, all[2].j), std::make_pair(0, 2));
  EXPECT_NEAR(all[2].residual, 0.00345, 1e-7);

  const std::vector<PairRank> top2 = rank_pairs(kHand.data(), 1, 3, 0, 2);
  ASSERT_EQ(top2.size(), 2u);
  EXPECT_EQ(std::make_pair(top2[1].i, top2[1].j), std::make_pair(1, 2));
  EXPECT_TRUE(rank_pairs(kHand.data(), 1, 3, 0, 0).empty());
}

TEST(RankPairsTest, TiesGoToLowerIndices) {
  const std::vector<float> zeros(16, 0.0f);
  const std::vector<PairRank> pairs = rank_pairs(zeros.data(), 1, 4, 0, 4);
  ASSERT_EQ(pairs.size(), 4u);
  const std::vector<std::pair<int, int>> expected = {{0, 1}, {0, 2}, {0, 3}, {1, 2}};
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    EXPECT_EQ(std::make_pair(pairs[p].i, pairs[p].j), expected[p]);
  }
}

TEST(RankPairsTest, SingleSensorHasNoPairs) {
  const std::vector<float> residual = {0.1f};
  EXPECT_TRUE(rank_pairs(residual.data(), 1, 1, 0, 3).empty());
}

TEST(ChosenScoreTest, ScaleCountOrTotal) {
  StepScore score;
  score.count = {4, 0, 2};
  score.total = 6;
  EXPECT_EQ(chosen_score(score, 0), 4.0);
  EXPECT_EQ(chosen_score(score, 2), 2.0);
  EXPECT_EQ(chosen_score(score, kAllScales), 6.0);
  EXPECT_THROW(chosen_score(score, 3), std::invalid_argument);
}

TEST(FitThresholdsTest, BetaTimesMaxPerScaleAndTotal) {
  // counts {1,0,2} {3,0,1} {2,0,0}; totals 3, 4, 2. max = {3, 0, 2}, total 4; beta 1.5.
  std::vector<StepScore> validation(3);
  validation[0].count = {1, 0, 2};
  validation[0].total = 3;
  validation[1].count = {3, 0, 1};
  validation[1].total = 4;
  validation[2].count = {2, 0, 0};
  validation[2].total = 2;
  const Thresholds thresholds = fit_thresholds(validation, 1.5);
  EXPECT_EQ(thresholds.tau, (std::vector<double>{4.5, 0.0, 3.0}));
  EXPECT_DOUBLE_EQ(thresholds.tau_total, 6.0);
}

TEST(FitThresholdsTest, RejectsEmptyMismatchedAndBadBeta) {
  EXPECT_THROW(fit_thresholds({}, 1.5), std::invalid_argument);
  std::vector<StepScore> mismatched(2);
  mismatched[0].count = {1, 2};
  mismatched[1].count = {1};
  EXPECT_THROW(fit_thresholds(mismatched, 1.5), std::invalid_argument);
  std::vector<StepScore> one(1);
  one[0].count = {1};
  EXPECT_THROW(fit_thresholds(one, 0.0), std::invalid_argument);
  EXPECT_THROW(fit_thresholds(one, std::nan("")), std::invalid_argument);
}

TEST(UnusableThresholdsTest, FlagsTausNoCountCanExceed) {
  // n = 4: a scale has 16 elements, the total of 2 scales 32. Validation maxima 12 / 10,
  // total 22, beta 1.5: tau = 18 (>= 16: never), 15 (usable), total 33 (>= 32: never).
  std::vector<StepScore> validation(1);
  validation[0].count = {12, 10};
  validation[0].total = 22;
  const Thresholds thresholds = fit_thresholds(validation, 1.5);
  const auto unusable = unusable_thresholds(thresholds, 2, 4);
  ASSERT_EQ(unusable.size(), 2u);
  EXPECT_EQ(unusable[0].scale, 0);
  EXPECT_DOUBLE_EQ(unusable[0].tau, 18.0);
  EXPECT_EQ(unusable[0].max_count, 16);
  EXPECT_EQ(unusable[1].scale, kAllScales);
  EXPECT_DOUBLE_EQ(unusable[1].tau, 33.0);
  EXPECT_EQ(unusable[1].max_count, 32);

  // The definition behind it: a residual with every element above theta is not detected.
  const std::vector<float> all_high(2 * 16, 1.0f);
  ScoreConfig config;
  config.detect_scale = 0;
  EXPECT_FALSE(detect(all_high.data(), 2, 4, config, thresholds).detected);
  config.detect_scale = 1;
  EXPECT_TRUE(detect(all_high.data(), 2, 4, config, thresholds).detected);

  const std::string text = describe_unusable_thresholds(unusable, {10, 30});
  EXPECT_NE(text.find("scale 10 tau 18.0 >= 16"), std::string::npos) << text;
  EXPECT_NE(text.find("total tau 33.0 >= 32"), std::string::npos) << text;
  EXPECT_EQ(text.find("scale 30"), std::string::npos) << text;
  EXPECT_NE(text.find("train longer"), std::string::npos) << text;
}

TEST(UnusableThresholdsTest, BoundaryAndUsable) {
  // tau exactly n*n cannot be exceeded (detection is count > tau); just below it can.
  Thresholds thresholds;
  thresholds.tau = {16.0, 15.5};
  thresholds.tau_total = 31.9;
  const auto unusable = unusable_thresholds(thresholds, 2, 4);
  ASSERT_EQ(unusable.size(), 1u);
  EXPECT_EQ(unusable[0].scale, 0);
  thresholds.tau = {0.0, 1.0};
  EXPECT_TRUE(unusable_thresholds(thresholds, 2, 4).empty());
  EXPECT_TRUE(describe_unusable_thresholds({}, {10, 30}).empty());
  EXPECT_THROW(unusable_thresholds(thresholds, 3, 4), std::invalid_argument);
}

TEST(SeverityTest, ToString) {
  EXPECT_STREQ(to_string(Severity::kNone), "none");
  EXPECT_STREQ(to_string(Severity::kShort), "short");
  EXPECT_STREQ(to_string(Severity::kMedium), "medium");
  EXPECT_STREQ(to_string(Severity::kLong), "long");
}

TEST(SeverityTest, ThreeScaleTableForEveryCombination) {
  // {short, medium, long} detected -> severity when the chosen score detected.
  struct Row {
    std::uint8_t flags[3];
    Severity expected;
  };
  const Row table[] = {
      {{0, 0, 0}, Severity::kShort},   // total detected, no single scale: lowest severity
      {{1, 0, 0}, Severity::kShort},   // only the short scale
      {{0, 1, 0}, Severity::kMedium},  // medium, not long
      {{1, 1, 0}, Severity::kMedium},  //
      {{0, 0, 1}, Severity::kLong},    // long as well
      {{1, 0, 1}, Severity::kLong},    //
      {{0, 1, 1}, Severity::kLong},    //
      {{1, 1, 1}, Severity::kLong},    //
  };
  for (const Row& row : table) {
    EXPECT_EQ(classify_severity(row.flags, 3, true), row.expected)
        << int(row.flags[0]) << int(row.flags[1]) << int(row.flags[2]);
    EXPECT_EQ(classify_severity(row.flags, 3, false), Severity::kNone);
  }
}

TEST(SeverityTest, OtherNumbersOfScales) {
  const std::uint8_t one[] = {1};
  EXPECT_EQ(classify_severity(one, 1, true), Severity::kShort);
  const std::uint8_t two_short[] = {1, 0};
  const std::uint8_t two_long[] = {1, 1};
  EXPECT_EQ(classify_severity(two_short, 2, true), Severity::kShort);
  EXPECT_EQ(classify_severity(two_long, 2, true), Severity::kLong);
  const std::uint8_t four_middle1[] = {1, 1, 0, 0};
  const std::uint8_t four_middle2[] = {1, 0, 1, 0};
  const std::uint8_t four_long[] = {0, 0, 0, 1};
  EXPECT_EQ(classify_severity(four_middle1, 4, true), Severity::kMedium);
  EXPECT_EQ(classify_severity(four_middle2, 4, true), Severity::kMedium);
  EXPECT_EQ(classify_severity(four_long, 4, true), Severity::kLong);
}

// Three scales of 3x3: scale 0 = hand example (4 poor), scale 1 = zeros, scale 2 = one poor
// element at (2,2).
std::vector<float> three_scales() {
  std::vector<float> residual(27, 0.0f);
  std::copy(kHand.begin(), kHand.end(), residual.begin());
  residual[18 + 8] = 1.0f;
  return residual;
}

TEST(DetectTest, ShortScaleDetectionWithLongConfirmationIsLong) {
  const std::vector<float> residual = three_scales();
  ScoreConfig config;
  config.top_k = 2;
  Thresholds thresholds;
  thresholds.tau = {3.0, 0.0, 0.0};  // 4 > 3, 0 > 0 is false, 1 > 0
  thresholds.tau_total = 100.0;
  const Detection d = detect(residual.data(), 3, 3, config, thresholds);
  EXPECT_TRUE(d.detected);
  EXPECT_EQ(d.scale_detected, (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_EQ(d.severity, Severity::kLong);
  EXPECT_EQ(d.score.total, 5);
  // Causes come from scale 0 (the detection scale): sensors 1, 2; pairs (0,1), (1,2).
  ASSERT_EQ(d.top_sensors.size(), 2u);
  EXPECT_EQ(d.top_sensors[0].sensor, 1);
  EXPECT_EQ(d.top_sensors[1].sensor, 2);
  ASSERT_EQ(d.top_pairs.size(), 2u);
  EXPECT_EQ(std::make_pair(d.top_pairs[0].i, d.top_pairs[0].j), std::make_pair(0, 1));
  EXPECT_EQ(std::make_pair(d.top_pairs[1].i, d.top_pairs[1].j), std::make_pair(1, 2));
}

TEST(DetectTest, NotDetectedAtChosenScaleIsNoneWithoutCauses) {
  const std::vector<float> residual = three_scales();
  ScoreConfig config;
  Thresholds thresholds;
  thresholds.tau = {4.0, 0.0, 0.0};  // 4 > 4 is false; the long scale alone does not detect
  thresholds.tau_total = 0.0;
  const Detection d = detect(residual.data(), 3, 3, config, thresholds);
  EXPECT_FALSE(d.detected);
  EXPECT_EQ(d.severity, Severity::kNone);
  EXPECT_EQ(d.scale_detected, (std::vector<std::uint8_t>{0, 0, 1}));
  EXPECT_TRUE(d.top_sensors.empty());
  EXPECT_TRUE(d.top_pairs.empty());
}

TEST(DetectTest, TotalScoreDetectsAndCausesSumScales) {
  const std::vector<float> residual = three_scales();
  ScoreConfig config;
  config.detect_scale = kAllScales;
  config.top_k = 1;
  Thresholds thresholds;
  thresholds.tau = {10.0, 10.0, 10.0};  // no single scale detects
  thresholds.tau_total = 4.5;           // total 5 > 4.5
  const Detection d = detect(residual.data(), 3, 3, config, thresholds);
  EXPECT_TRUE(d.detected);
  EXPECT_EQ(d.severity, Severity::kShort);
  // Summed over scales sensor 2 has count 2 + 1 = 3 and mass 1.0489 > sensor 1's 0.045.
  ASSERT_EQ(d.top_sensors.size(), 1u);
  EXPECT_EQ(d.top_sensors[0].sensor, 2);
  EXPECT_EQ(d.top_sensors[0].count, 3);
}

TEST(DetectTest, CauseScaleConfigOverridesDetectionScale) {
  const std::vector<float> residual = three_scales();
  ScoreConfig config;
  config.cause_scale = 2;  // only (2,2) is poor there
  config.top_k = 1;
  const Detection d = detect(residual.data(), 3, 3, config, zero_thresholds(3));
  ASSERT_TRUE(d.detected);
  EXPECT_EQ(d.top_sensors[0].sensor, 2);
  EXPECT_EQ(d.top_sensors[0].count, 1);
  // Pairs at scale 2 are all zero: the tie goes to (0,1).
  EXPECT_EQ(std::make_pair(d.top_pairs[0].i, d.top_pairs[0].j), std::make_pair(0, 1));
}

TEST(DetectTest, ZeroThresholdDetectsAnyPositiveCountOnly) {
  const std::vector<float> clean(9, 0.001f);  // no anomaly: every element below theta
  Detection d = detect(clean.data(), 1, 3, ScoreConfig{}, zero_thresholds(1));
  EXPECT_FALSE(d.detected);
  std::vector<float> one_poor = clean;
  one_poor[4] = 0.01f;
  d = detect(one_poor.data(), 1, 3, ScoreConfig{}, zero_thresholds(1));
  EXPECT_TRUE(d.detected);
  EXPECT_EQ(d.top_sensors[0].sensor, 1);
}

TEST(DetectTest, AllElementsPoor) {
  const std::vector<float> all(9, 1.0f);
  const Detection d = detect(all.data(), 1, 3, ScoreConfig{}, zero_thresholds(1));
  EXPECT_TRUE(d.detected);
  EXPECT_EQ(d.score.count[0], 9);
  ASSERT_EQ(d.top_sensors.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(d.top_sensors[k].sensor, k);  // full tie: index order
    EXPECT_EQ(d.top_sensors[k].count, 5);   // 2n - 1
  }
}

TEST(DetectTest, SingleSensor) {
  const std::vector<float> residual = {0.1f};
  const Detection d = detect(residual.data(), 1, 1, ScoreConfig{}, zero_thresholds(1));
  EXPECT_TRUE(d.detected);
  EXPECT_EQ(d.severity, Severity::kShort);
  ASSERT_EQ(d.top_sensors.size(), 1u);
  EXPECT_TRUE(d.top_pairs.empty());
}

TEST(DetectTest, ReusedResultIsClearedWhenNextStepIsNormal) {
  Detection d;
  detect_into(kHand.data(), 1, 3, ScoreConfig{}, zero_thresholds(1), &d);
  ASSERT_TRUE(d.detected);
  EXPECT_EQ(d.top_sensors.size(), 3u);
  const std::vector<float> clean(9, 0.0f);
  detect_into(clean.data(), 1, 3, ScoreConfig{}, zero_thresholds(1), &d);
  EXPECT_FALSE(d.detected);
  EXPECT_EQ(d.score.count[0], 0);
  EXPECT_TRUE(d.top_sensors.empty());
  EXPECT_TRUE(d.top_pairs.empty());
}

TEST(CheckScoreConfigTest, NamesTheOffendingKey) {
  const Thresholds three = zero_thresholds(3);
  EXPECT_EQ(check_score_config(ScoreConfig{}, three, 3), "");
  ScoreConfig bad;
  bad.detect_scale = 3;
  EXPECT_NE(check_score_config(bad, three, 3).find("scoring.detect_scale"), std::string::npos);
  bad = ScoreConfig{};
  bad.cause_scale = -3;
  EXPECT_NE(check_score_config(bad, three, 3).find("scoring.cause_scale"), std::string::npos);
  bad = ScoreConfig{};
  bad.theta = -1.0;
  EXPECT_NE(check_score_config(bad, three, 3).find("scoring.theta"), std::string::npos);
  bad = ScoreConfig{};
  bad.beta = 0.0;
  EXPECT_NE(check_score_config(bad, three, 3).find("scoring.beta"), std::string::npos);
  EXPECT_NE(check_score_config(ScoreConfig{}, zero_thresholds(2), 3), "");
  EXPECT_THROW(detect(kHand.data(), 1, 3, ScoreConfig{}, three), std::invalid_argument);
}

}  // namespace
}  // namespace mscred::pipeline
