// Tests of pipeline/evaluation.h on short hand-made vectors; expected values are worked out in
// the comments.
#include "mscred/pipeline/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace mscred::pipeline {
namespace {

using Bits = std::vector<std::uint8_t>;
using Rows = std::vector<std::size_t>;

TEST(SegmentsFromPointsTest, MaximalRuns) {
  const std::vector<LabelSegment> segments = segments_from_points({1, 1, 0, 1, 0, 0, 1});
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[0].begin, 0u);
  EXPECT_EQ(segments[0].end, 2u);
  EXPECT_EQ(segments[1].begin, 3u);
  EXPECT_EQ(segments[1].end, 4u);
  EXPECT_EQ(segments[2].begin, 6u);
  EXPECT_EQ(segments[2].end, 7u);
  EXPECT_TRUE(segments_from_points({}).empty());
  EXPECT_TRUE(segments_from_points({0, 0}).empty());
}

TEST(RowsFromStepsTest, FirstCoveringStepJudgesEachRow) {
  // 10 rows, max_window 3, steps at rows 3, 5, 9 detecting 0, 1, 1.
  //   step 0 covers rows 1..3 -> judges 1, 2, 3 (row 0 is before its window)
  //   step 1 covers rows 3..5 -> row 3 was judged already; judges 4, 5
  //   step 2 covers rows 7..9 -> judges 7, 8, 9; row 6 lies in a gap
  const Rows steps = {3, 5, 9};
  EXPECT_EQ(judging_steps(steps, 10, 3),
            (std::vector<std::int64_t>{-1, 0, 0, 0, 1, 1, -1, 2, 2, 2}));
  const RowPredictions rows = rows_from_steps(steps, {0, 1, 1}, 10, 3);
  EXPECT_EQ(rows.predicted, (Bits{0, 0, 0, 0, 1, 1, 0, 1, 1, 1}));
  EXPECT_EQ(rows.unjudged, 2u);
}

TEST(RowsFromStepsTest, WindowClippedAtRowZeroAndRowsAfterLastStep) {
  // One step at row 1 with window 3 covers rows 0, 1; rows 2..4 are after the last step.
  const RowPredictions rows = rows_from_steps({1}, {1}, 5, 3);
  EXPECT_EQ(rows.predicted, (Bits{1, 1, 0, 0, 0}));
  EXPECT_EQ(rows.unjudged, 3u);
}

TEST(RowsFromStepsTest, NoStepsLeavesEveryRowUnjudged) {
  const RowPredictions rows = rows_from_steps({}, {}, 4, 3);
  EXPECT_EQ(rows.predicted, (Bits{0, 0, 0, 0}));
  EXPECT_EQ(rows.unjudged, 4u);
  EXPECT_EQ(rows_from_steps({}, {}, 0, 3).predicted.size(), 0u);
}

TEST(RowsFromStepsTest, ScoresFollowTheSameRule) {
  const std::vector<double> scores = row_scores_from_steps({3, 5, 9}, {0.5, 2.0, 7.0}, 10, 3, -1.0);
  EXPECT_EQ(scores, (std::vector<double>{-1, 0.5, 0.5, 0.5, 2, 2, -1, 7, 7, 7}));
}

TEST(RowsFromStepsTest, RejectsBadSteps) {
  EXPECT_THROW(rows_from_steps({3, 3}, {0, 0}, 10, 3), std::invalid_argument);   // not increasing
  EXPECT_THROW(rows_from_steps({3, 10}, {0, 0}, 10, 3), std::invalid_argument);  // row >= n_rows
  EXPECT_THROW(rows_from_steps({3}, {0, 1}, 10, 3), std::invalid_argument);      // lengths
  EXPECT_THROW(rows_from_steps({3}, {0}, 10, 0), std::invalid_argument);         // max_window 0
}

TEST(PointMetricsTest, HandExample) {
  // label 0 1 1 1 0 0 1 1 0 0
  // pred  0 0 1 0 0 1 0 0 0 0
  // tp = {2}, fp = {5}, fn = {1, 3, 6, 7}, tn = {0, 4, 8, 9}
  // P = 1/2, R = 1/5, F1 = 2 * 0.1 / 0.7 = 2/7
  const PointMetrics m =
      point_metrics({0, 1, 1, 1, 0, 0, 1, 1, 0, 0}, {0, 0, 1, 0, 0, 1, 0, 0, 0, 0});
  EXPECT_EQ(m.tp, 1u);
  EXPECT_EQ(m.fp, 1u);
  EXPECT_EQ(m.fn, 4u);
  EXPECT_EQ(m.tn, 4u);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 0.2);
  EXPECT_NEAR(m.f1, 2.0 / 7.0, 1e-12);
}

TEST(PointMetricsTest, PointAdjustFillsFoundSegmentsOnly) {
  // Same vectors. Labelled runs [1,4) and [6,8); the first has row 2 predicted, so rows 1..3
  // count as predicted; the second has none. Adjusted pred 0 1 1 1 0 1 0 0 0 0:
  // tp 3, fp 1 (row 5, untouched), fn 2, tn 4 -> P 3/4, R 3/5, F1 = 0.9 / 1.35 = 2/3.
  const PointMetrics m =
      point_adjusted_metrics({0, 1, 1, 1, 0, 0, 1, 1, 0, 0}, {0, 0, 1, 0, 0, 1, 0, 0, 0, 0});
  EXPECT_EQ(m.tp, 3u);
  EXPECT_EQ(m.fp, 1u);
  EXPECT_EQ(m.fn, 2u);
  EXPECT_EQ(m.tn, 4u);
  EXPECT_DOUBLE_EQ(m.precision, 0.75);
  EXPECT_DOUBLE_EQ(m.recall, 0.6);
  EXPECT_NEAR(m.f1, 2.0 / 3.0, 1e-12);
}

TEST(PointMetricsTest, NoAnomaliesGivesZeroNotNaN) {
  const PointMetrics m = point_metrics({0, 0, 0}, {0, 0, 0});
  EXPECT_EQ(m.tn, 3u);
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_EQ(m.f1, 0.0);
}

TEST(PointMetricsTest, AllAnomaliesAllFound) {
  const PointMetrics m = point_metrics({1, 1, 1}, {1, 1, 1});
  EXPECT_EQ(m.tp, 3u);
  EXPECT_DOUBLE_EQ(m.f1, 1.0);
  const PointMetrics adjusted = point_adjusted_metrics({1, 1, 1}, {0, 0, 1});
  EXPECT_EQ(adjusted.tp, 3u);
  EXPECT_DOUBLE_EQ(adjusted.f1, 1.0);
}

TEST(PointMetricsTest, EmptyAndMismatched) {
  const PointMetrics m = point_metrics({}, {});
  EXPECT_EQ(m.tp + m.fp + m.fn + m.tn, 0u);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_THROW(point_metrics({0, 1}, {0}), std::invalid_argument);
  EXPECT_THROW(point_adjusted_metrics({0, 1}, {0}), std::invalid_argument);
}

TEST(BestF1OracleTest, HandSweep) {
  // score 0.9 0.1 0.8 0.4 0.7, label 1 0 0 1 1 (3 positives):
  //   t >= 0.9: tp1 fp0 -> P 1,   R 1/3, F1 0.5
  //   t >= 0.8: tp1 fp1 -> P 1/2, R 1/3, F1 0.4
  //   t >= 0.7: tp2 fp1 -> P 2/3, R 2/3, F1 2/3
  //   t >= 0.4: tp3 fp1 -> P 3/4, R 1,   F1 6/7   <- best
  //   t >= 0.1: tp3 fp2 -> P 3/5, R 1,   F1 3/4
  const OracleF1 best = best_f1_oracle({0.9, 0.1, 0.8, 0.4, 0.7}, {1, 0, 0, 1, 1});
  EXPECT_DOUBLE_EQ(best.threshold, 0.4);
  EXPECT_EQ(best.metrics.tp, 3u);
  EXPECT_EQ(best.metrics.fp, 1u);
  EXPECT_EQ(best.metrics.fn, 0u);
  EXPECT_EQ(best.metrics.tn, 1u);
  EXPECT_NEAR(best.metrics.f1, 6.0 / 7.0, 1e-12);
}

TEST(BestF1OracleTest, EqualScoresAreOneThreshold) {
  // score 1 1 0, label 1 0 0: the two 1s cannot be split. t >= 1: P 1/2 R 1 F1 2/3;
  // t >= 0: P 1/3 R 1 F1 1/2.
  const OracleF1 best = best_f1_oracle({1.0, 1.0, 0.0}, {1, 0, 0});
  EXPECT_DOUBLE_EQ(best.threshold, 1.0);
  EXPECT_EQ(best.metrics.fp, 1u);
  EXPECT_NEAR(best.metrics.f1, 2.0 / 3.0, 1e-12);
}

TEST(BestF1OracleTest, NoPositivesPredictsNothing) {
  const OracleF1 best = best_f1_oracle({0.3, 0.2}, {0, 0});
  EXPECT_TRUE(std::isinf(best.threshold));
  EXPECT_EQ(best.metrics.f1, 0.0);
  EXPECT_EQ(best.metrics.tn, 2u);
  EXPECT_EQ(best_f1_oracle({}, {}).metrics.f1, 0.0);
  EXPECT_THROW(best_f1_oracle({std::nan("")}, {1}), std::invalid_argument);
  EXPECT_THROW(best_f1_oracle({0.1}, {1, 0}), std::invalid_argument);
}

// Steps at rows 2, 4, ..., 16 detecting 0 1 1 0 0 1 0 1: detecting rows 4, 6, 12, 16,
// events {4, 6}, {12}, {16}. Segments [3,5), [9,11), [13,14).
const Rows kEventRows = {2, 4, 6, 8, 10, 12, 14, 16};
const Bits kEventDetected = {0, 1, 1, 0, 0, 1, 0, 1};
const std::vector<LabelSegment> kEventSegments = {{3, 5, {}}, {9, 11, {}}, {13, 14, {}}};

TEST(EventMetricsTest, NoTolerance) {
  // Hits need a detecting row in [begin, end): only row 4 in [3,5). Recall 1/3.
  // Events: {4,6} true, {12} and {16} false. Precision 1/3, F1 1/3.
  const EventMetrics m = event_metrics(kEventRows, kEventDetected, kEventSegments, 0);
  EXPECT_EQ(m.segments, 3u);
  EXPECT_EQ(m.segments_detected, 1u);
  EXPECT_EQ(m.events, 3u);
  EXPECT_EQ(m.events_true, 1u);
  EXPECT_NEAR(m.recall, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.precision, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.f1, 1.0 / 3.0, 1e-12);
}

TEST(EventMetricsTest, ToleranceCountsLateDetections) {
  // Tolerance 2: [3,7) hit by 4, 6; [9,13) hit by 12; [13,16) has no detecting row (16 is
  // outside, 14 did not detect). Recall 2/3; events {4,6} and {12} true, {16} false: P 2/3.
  const EventMetrics m = event_metrics(kEventRows, kEventDetected, kEventSegments, 2);
  EXPECT_EQ(m.segments_detected, 2u);
  EXPECT_EQ(m.events_true, 2u);
  EXPECT_NEAR(m.recall, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.precision, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.f1, 2.0 / 3.0, 1e-12);
}

TEST(EventMetricsTest, AllStepsDetectingIsOneEvent) {
  const EventMetrics m = event_metrics(kEventRows, Bits(8, 1), kEventSegments, 0);
  EXPECT_EQ(m.events, 1u);
  EXPECT_EQ(m.events_true, 1u);
  EXPECT_EQ(m.segments_detected, 2u);  // 4 in [3,5), 10 in [9,11); no step row in [13,14)
}

TEST(EventMetricsTest, EmptyInputsGiveZero) {
  EventMetrics m = event_metrics({}, {}, kEventSegments, 0);
  EXPECT_EQ(m.events, 0u);
  EXPECT_EQ(m.segments_detected, 0u);
  EXPECT_EQ(m.f1, 0.0);
  m = event_metrics(kEventRows, kEventDetected, {}, 0);  // no anomalies labelled
  EXPECT_EQ(m.events, 3u);
  EXPECT_EQ(m.events_true, 0u);
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_EQ(m.precision, 0.0);
}

TEST(EventMetricsTest, RejectsEmptySegment) {
  EXPECT_THROW(event_metrics(kEventRows, kEventDetected, {{5, 5, {}}}, 0), std::invalid_argument);
}

TEST(HitRateTest, HandRanking) {
  // ranking 4 1 0 3 2, G = {1, 2, 3}: top 3 = {4,1,0} -> 1/3; top floor(4.5) = 4 -> {1,3} = 2/3.
  const std::vector<int> ranking = {4, 1, 0, 3, 2};
  EXPECT_NEAR(hit_rate(ranking, {1, 2, 3}, 100.0), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(hit_rate(ranking, {1, 2, 3}, 150.0), 2.0 / 3.0, 1e-12);
  // G = {0}: top 1 and top floor(1.5) = 1 are both {4}.
  EXPECT_EQ(hit_rate(ranking, {0}, 100.0), 0.0);
  EXPECT_EQ(hit_rate(ranking, {0}, 150.0), 0.0);
  // G = {4, 1}: top 2 = {4, 1}.
  EXPECT_EQ(hit_rate(ranking, {4, 1}, 100.0), 1.0);
  // A cause listed twice counts once.
  EXPECT_NEAR(hit_rate(ranking, {1, 1, 2, 3}, 100.0), 1.0 / 3.0, 1e-12);
}

TEST(HitRateTest, ShortRankingAndBadArguments) {
  EXPECT_DOUBLE_EQ(hit_rate({1}, {1, 2}, 150.0), 0.5);  // top 3 of a 1-long ranking
  EXPECT_THROW(hit_rate({1}, {}, 100.0), std::invalid_argument);
  EXPECT_THROW(hit_rate({1}, {1}, 0.0), std::invalid_argument);
}

// Three sensors, steps at rows 2, 5, 8, 11 with max_window 3 (windows 0..2, 3..5, 6..8, 9..11).
// Sensor counts per step (mass = count / 10 unless said):
//   step 0: s0 5
//   step 1: s1 2, s2 1
//   step 2: s1 1, s2 3
//   step 3: s0 9
const Rows kCauseRows = {2, 5, 8, 11};
std::vector<std::vector<SensorRank>> cause_steps() {
  return {{{0, 5, 0.5}, {1, 0, 0.0}, {2, 0, 0.0}},
          {{0, 0, 0.0}, {1, 2, 0.2}, {2, 1, 0.1}},
          {{0, 0, 0.0}, {1, 1, 0.1}, {2, 3, 0.3}},
          {{0, 9, 0.9}, {1, 0, 0.0}, {2, 0, 0.0}}};
}

TEST(AggregateSensorRanksTest, SumsCountsThenBreaksTiesByMass) {
  // Steps 1..2: s1 count 3 mass 0.3, s2 count 4 mass 0.4, s0 0 -> 2, 1, 0.
  std::vector<SensorRank> ranks = aggregate_sensor_ranks(cause_steps(), 1, 3, 3);
  ASSERT_EQ(ranks.size(), 3u);
  EXPECT_EQ(ranks[0].sensor, 2);
  EXPECT_EQ(ranks[0].count, 4);
  EXPECT_NEAR(ranks[0].mass, 0.4, 1e-12);
  EXPECT_EQ(ranks[1].sensor, 1);
  EXPECT_EQ(ranks[2].sensor, 0);
  // Equal counts, different mass: s1 (3, 0.5) before s0 (3, 0.1).
  const std::vector<std::vector<SensorRank>> tie = {{{0, 3, 0.1}, {1, 3, 0.5}}};
  ranks = aggregate_sensor_ranks(tie, 0, 1, 2);
  EXPECT_EQ(ranks[0].sensor, 1);
  EXPECT_THROW(aggregate_sensor_ranks(tie, 0, 1, 1), std::invalid_argument);  // sensor 1 of 1
  EXPECT_THROW(aggregate_sensor_ranks(tie, 0, 2, 2), std::invalid_argument);  // step 1 missing
}

TEST(SegmentHitRatesTest, StepsOverlappingEachSegment) {
  // A [4,6) causes {1}: overlapping windows are those with begin <= row < 6 + 3 - 1 = 8, i.e.
  //   step 1 only. Ranking 1, 2, 0 -> @100 top 1 {1} = 1, @150 top 1 = 1.
  // B [5,7) causes {0, 1}: rows in [5, 9) -> steps 1, 2. s2 4, s1 3, s0 0 -> ranking 2, 1, 0.
  //   @100 top 2 {2,1} -> 1/2; @150 top 3 -> 1.
  // C [20,22) causes {0}: no step reaches it -> without steps.  D [0,1) has no causes.
  // at_100 = (1 + 1/2) / 2 = 3/4, at_150 = (1 + 1) / 2 = 1.
  const std::vector<LabelSegment> segments = {
      {4, 6, {1}}, {5, 7, {0, 1}}, {20, 22, {0}}, {0, 1, {}}};
  const HitRates rates = segment_hit_rates(kCauseRows, cause_steps(), segments, 3, 3);
  EXPECT_EQ(rates.segments_scored, 2u);
  EXPECT_EQ(rates.segments_without_steps, 1u);
  EXPECT_NEAR(rates.at_100, 0.75, 1e-12);
  EXPECT_NEAR(rates.at_150, 1.0, 1e-12);
}

TEST(SegmentHitRatesTest, NoSegmentsWithCausesGivesZero) {
  const HitRates rates = segment_hit_rates(kCauseRows, cause_steps(), {{4, 6, {}}}, 3, 3);
  EXPECT_EQ(rates.segments_scored, 0u);
  EXPECT_EQ(rates.at_100, 0.0);
  EXPECT_THROW(segment_hit_rates(kCauseRows, cause_steps(), {{4, 6, {3}}}, 3, 3),
               std::invalid_argument);  // cause 3 is not one of 3 sensors
}

TEST(TopKCauseRecallTest, OnlyDetectingStepsOfDetectedSegments) {
  // Detected steps 1 and 3 (rows 5, 11); tolerance 1; k = 1.
  // A [4,6) causes {1}: detecting rows in [4,7) -> step 1: s1 2, s2 1 -> top {1} -> 1.
  // B [5,7) causes {0,1}: same step -> top {1} -> 1/2.
  // E [7,9) causes {2}: row 8 did not detect -> not detected, left out.
  // recall = (1 + 1/2) / 2 = 3/4 over 2 segments.
  const std::vector<LabelSegment> segments = {{4, 6, {1}}, {5, 7, {0, 1}}, {7, 9, {2}}};
  const CauseRecall recall =
      top_k_cause_recall(kCauseRows, {0, 1, 0, 1}, cause_steps(), segments, 3, 1, 1);
  EXPECT_EQ(recall.segments_scored, 2u);
  EXPECT_NEAR(recall.recall, 0.75, 1e-12);
}

TEST(TopKCauseRecallTest, NothingDetected) {
  const CauseRecall recall =
      top_k_cause_recall(kCauseRows, {0, 0, 0, 0}, cause_steps(), {{4, 6, {1}}}, 3, 1);
  EXPECT_EQ(recall.segments_scored, 0u);
  EXPECT_EQ(recall.recall, 0.0);
}

TEST(EvaluationTest, SingleSensorRootCause) {
  // n = 1: the only sensor is always ranked first.
  const std::vector<std::vector<SensorRank>> steps = {{{0, 1, 0.1}}};
  const HitRates rates = segment_hit_rates({0}, steps, {{0, 1, {0}}}, 1, 1);
  EXPECT_EQ(rates.at_100, 1.0);
  EXPECT_EQ(rates.at_150, 1.0);
}

TEST(EvaluateTest, EndToEndFromResiduals) {
  // 12 rows, one scale, max_window 2, a step every 2 rows at rows 1, 3, ..., 11; n = 3.
  // Labelled anomaly [4, 8) caused by sensors {1, 2}. Residuals: 0.001 everywhere except
  //   rows 5, 7: (2,0) = (0,2) = 0.05, (2,2) = 0.1 -> count 3; s2 count 3, s0 count 2, s1 0
  //   row 9:     (1,1) = 0.1                       -> count 1; s1 count 1 (a false alarm)
  // Thresholds 0: steps at rows 5, 7, 9 detect; chosen scores 0 0 3 3 1 0.
  // Rows (first covering step): predicted 0 0 0 0 1 1 1 1 1 1 0 0, labels 0 0 0 0 1 1 1 1 0 0 0 0
  //   point: tp 4, fp 2, fn 0 -> P 2/3, R 1, F1 0.8; point-adjusted the same.
  // Events (tolerance 2): one event (rows 5, 7, 9) hitting [4, 10) -> P 1, R 1.
  // Oracle: row scores 0 0 0 0 3 3 3 3 1 1 0 0 -> threshold 3 gives F1 1.
  // HitRate: steps with row in [4, 8 + 2 - 1) = rows 5, 7: s2 6, s0 4, s1 0 -> ranking 2 0 1;
  //   @100 top 2 {2, 0} -> 1/2; @150 top 3 -> 1.
  // Cause recall (k = 2): detecting rows 5, 7, 9: s2 6, s0 4, s1 1 -> top 2 {2, 0} -> 1/2.
  const std::size_t n = 3;
  ScoreConfig config;
  Thresholds thresholds;
  thresholds.tau = {0.0};
  StepResults steps;
  for (std::size_t row = 1; row < 12; row += 2) {
    std::vector<float> residual(n * n, 0.001f);
    if (row == 5 || row == 7) {
      residual[2 * n + 0] = 0.05f;
      residual[0 * n + 2] = 0.05f;
      residual[2 * n + 2] = 0.1f;
    }
    if (row == 9) residual[1 * n + 1] = 0.1f;
    const Detection detection = detect(residual.data(), 1, n, config, thresholds);
    steps.add(row, detection, config.detect_scale,
              rank_sensors(residual.data(), 1, n, 0, config.theta));
  }
  EXPECT_EQ(steps.detected, (Bits{0, 0, 1, 1, 1, 0}));
  EXPECT_EQ(steps.score, (std::vector<double>{0, 0, 3, 3, 1, 0}));

  EvaluationOptions options;
  options.max_window = 2;
  options.tolerance_rows = 2;
  options.n_sensors = n;
  options.top_k = 2;
  const Bits labels = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0};
  const EvaluationReport report = evaluate(steps, labels, {{4, 8, {1, 2}}}, options);
  EXPECT_EQ(report.rows, 12u);
  EXPECT_EQ(report.steps, 6u);
  EXPECT_EQ(report.unjudged_rows, 0u);
  EXPECT_EQ(report.point.tp, 4u);
  EXPECT_EQ(report.point.fp, 2u);
  EXPECT_NEAR(report.point.f1, 0.8, 1e-12);
  EXPECT_NEAR(report.point_adjusted.f1, 0.8, 1e-12);
  EXPECT_EQ(report.event.events, 1u);
  EXPECT_DOUBLE_EQ(report.event.f1, 1.0);
  EXPECT_DOUBLE_EQ(report.best_f1_oracle.threshold, 3.0);
  EXPECT_DOUBLE_EQ(report.best_f1_oracle.metrics.f1, 1.0);
  EXPECT_EQ(report.hit_rates.segments_scored, 1u);
  EXPECT_DOUBLE_EQ(report.hit_rates.at_100, 0.5);
  EXPECT_DOUBLE_EQ(report.hit_rates.at_150, 1.0);
  EXPECT_EQ(report.cause_recall.segments_scored, 1u);
  EXPECT_DOUBLE_EQ(report.cause_recall.recall, 0.5);
}

TEST(EvaluateTest, RejectsMismatchedStepResults) {
  StepResults steps;
  steps.row = {1, 2};
  steps.detected = {0};
  steps.score = {0, 0};
  steps.sensors.resize(2);
  EXPECT_THROW(evaluate(steps, Bits(4, 0), {}, EvaluationOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace mscred::pipeline
