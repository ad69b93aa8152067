#pragma once
// Evaluation metrics for `mscred eval`, which replays a labelled test file through the
// streaming path and gets one result per step (the newest row it saw, whether it detected, its
// score, its sensor ranking). These functions turn those per-step results into the numbers
// reported in the README: point-wise and point-adjusted P/R/F1 over rows, event-level P/R/F1
// as in the paper, an oracle best F1, and root-cause HitRate@P% and top-k cause recall.
//
// All functions are pure and thread-safe; none blocks. Inconsistent inputs (vectors of
// different lengths, step rows not strictly increasing, a segment with begin >= end, a cause
// or sensor index out of range, NaN scores) throw std::invalid_argument naming the argument
// and the index. A ratio whose denominator is 0 is defined as 0 (precision with nothing
// predicted, recall with nothing labelled, F1 when precision + recall = 0), so that empty
// inputs and files without anomalies give defined numbers instead of NaN.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mscred/pipeline/labels.h"

#include "mscred/pipeline/scoring.h"

namespace mscred::pipeline {

//! A labelled anomaly: rows [begin, end) and the sensors (0-based) that cause it, possibly
//! none (labels.h's Segment; segments_from_points() is declared there too).
using LabelSegment = Segment;

// --- From steps to rows -------------------------------------------------------------------------

//! Step t saw rows (step_rows[t] - max_window, step_rows[t]]. Each row is judged by the FIRST
//! step (in step order) whose window covers it, i.e. the earliest moment the streaming
//! detector could have flagged it. For each row: the index of that step, or -1 when no step
//! covers it (rows before the first step's window, rows in gaps between steps wider than
//! max_window, rows after the last step). step_rows must be strictly increasing and < n_rows.
std::vector<std::int64_t> judging_steps(const std::vector<std::size_t>& step_rows,
                                        std::size_t n_rows, std::size_t max_window);

//! Rows predicted anomalous under the rule of judging_steps().
struct RowPredictions {
  std::vector<std::uint8_t> predicted;  //!< n_rows entries, 1 = anomalous
  std::size_t unjudged = 0;             //!< rows no step covers, counted as normal
};

//! predicted[x] = step_detected[judging step of x]; unjudged rows are 0 and counted.
RowPredictions rows_from_steps(const std::vector<std::size_t>& step_rows,
                               const std::vector<std::uint8_t>& step_detected, std::size_t n_rows,
                               std::size_t max_window);

//! The same mapping for a continuous step score (for best_f1_oracle over rows); unjudged rows
//! get `unjudged_score`.
std::vector<double> row_scores_from_steps(
    const std::vector<std::size_t>& step_rows, const std::vector<double>& step_score,
    std::size_t n_rows, std::size_t max_window,
    double unjudged_score = -std::numeric_limits<double>::infinity());

// --- Point-wise -------------------------------------------------------------------------------

//! Confusion counts and P/R/F1 over rows (positive = anomalous).
struct PointMetrics {
  std::size_t tp = 0;
  std::size_t fp = 0;
  std::size_t fn = 0;
  std::size_t tn = 0;
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
};

//! Plain point-wise metrics; label and predicted must have the same length (may be 0).
PointMetrics point_metrics(const std::vector<std::uint8_t>& label,
                           const std::vector<std::uint8_t>& predicted);

//! Point-adjusted metrics: every maximal labelled run that has at least one predicted row
//! counts as predicted in full; predictions outside labelled runs are left as they are.
PointMetrics point_adjusted_metrics(const std::vector<std::uint8_t>& label,
                                    const std::vector<std::uint8_t>& predicted);

//! The best point-wise F1 over all thresholds "score >= t" (t = each distinct score value; also
//! "predict nothing", which is what the result says when no threshold gives F1 > 0). It looks
//! at the labels to choose t, so it is an ORACLE, an upper bound for comparison with papers
//! that report it, never the detector's result. On equal F1 the higher threshold wins.
struct OracleF1 {
  double threshold = std::numeric_limits<double>::infinity();
  PointMetrics metrics;
};
OracleF1 best_f1_oracle(const std::vector<double>& score, const std::vector<std::uint8_t>& label);

// --- Event-level (paper) ----------------------------------------------------------------------

//! Event-level metrics. A step "hits" a segment when its newest row lies in
//! [begin, end + tolerance_rows): the tolerance lets a late detection count, since the long
//! windows keep seeing an anomaly up to max_window rows after it ended (max_window is the
//! natural choice). recall = segments hit by at least one detecting step / segments.
//! An event is a maximal run of consecutive detecting steps (consecutive step indices);
//! precision = events with at least one step hitting some segment / events.
struct EventMetrics {
  std::size_t segments = 0;
  std::size_t segments_detected = 0;
  std::size_t events = 0;
  std::size_t events_true = 0;
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
};
EventMetrics event_metrics(const std::vector<std::size_t>& step_rows,
                           const std::vector<std::uint8_t>& step_detected,
                           const std::vector<LabelSegment>& segments, std::size_t tolerance_rows);

// --- Root cause -------------------------------------------------------------------------------

//! HitRate@P% of one ranking: with G the set of causes, the share of G found among the top
//! floor(P/100 * |G|) entries of `ranking` (all of it if shorter). Throws when causes is empty
//! or percent is not finite and > 0.
double hit_rate(const std::vector<int>& ranking, const std::vector<int>& causes, double percent);

//! Sums the per-step sensor contributions (count and mass of SensorRank) of steps
//! [first_step, last_step) and ranks all n sensors as rank_sensors() does: count descending,
//! then mass descending, then index. `step_sensors[t]` lists step t's sensors in any order
//! (normally rank_sensors() of its residual); sensors it omits contribute nothing.
std::vector<SensorRank> aggregate_sensor_ranks(
    const std::vector<std::vector<SensorRank>>& step_sensors, std::size_t first_step,
    std::size_t last_step, std::size_t n_sensors);

//! HitRate@100% and @150% averaged over the segments that have causes. A segment's ranking
//! aggregates every step whose window (row - max_window, row] overlaps [begin, end), detected
//! or not, so that it judges the root-cause ranking apart from the detection decision.
//! Segments with causes but no overlapping step cannot be ranked: they are left out of the
//! averages and counted in segments_without_steps.
struct HitRates {
  double at_100 = 0.0;
  double at_150 = 0.0;
  std::size_t segments_scored = 0;
  std::size_t segments_without_steps = 0;
};
HitRates segment_hit_rates(const std::vector<std::size_t>& step_rows,
                           const std::vector<std::vector<SensorRank>>& step_sensors,
                           const std::vector<LabelSegment>& segments, std::size_t n_sensors,
                           std::size_t max_window);

//! Root-cause recall of the top k sensors (the paper's synthetic-data measure): for each
//! labelled segment with causes that is detected (event_metrics' rule: a detecting step with
//! newest row in [begin, end + tolerance_rows)), aggregate the sensor contributions of exactly
//! those detecting steps, take the top k, and score |top k ∩ G| / |G|; averaged over those
//! segments (so with |G| > k the best possible value is k / |G|).
struct CauseRecall {
  double recall = 0.0;
  std::size_t segments_scored = 0;  //!< detected segments that have causes
};
CauseRecall top_k_cause_recall(const std::vector<std::size_t>& step_rows,
                               const std::vector<std::uint8_t>& step_detected,
                               const std::vector<std::vector<SensorRank>>& step_sensors,
                               const std::vector<LabelSegment>& segments, std::size_t n_sensors,
                               std::size_t tolerance_rows, std::size_t k = 3);

// --- Everything at once ----------------------------------------------------------------------

//! Per-step results of a replay, one entry per step in step order (parallel vectors).
struct StepResults {
  std::vector<std::size_t> row;                  //!< newest row of the step's window
  std::vector<std::uint8_t> detected;            //!< Detection::detected
  std::vector<double> score;                     //!< chosen_score() of the step
  std::vector<std::vector<SensorRank>> sensors;  //!< rank_sensors() of the cause residual

  //! Appends one step. `sensors` should be the full ranking (all n), computed for every step
  //! and not only detecting ones, since HitRate looks at all steps covering a segment.
  void add(std::size_t step_row, const Detection& detection, int detect_scale,
           std::vector<SensorRank> step_sensors);
};

//! How the rows of a test file relate to steps, and the root-cause parameters.
struct EvaluationOptions {
  std::size_t max_window = 60;      //!< longest signature window, rows
  std::size_t tolerance_rows = 60;  //!< event-level tolerance; max_window is the natural value
  std::size_t n_sensors = 0;
  std::size_t top_k = 3;  //!< for top_k_cause_recall
};

//! All metrics of one replayed file. The oracle is reported under its own name, never as the
//! result.
struct EvaluationReport {
  std::size_t rows = 0;
  std::size_t unjudged_rows = 0;  //!< rows no step covers, counted as normal
  std::size_t steps = 0;
  PointMetrics point;
  PointMetrics point_adjusted;
  EventMetrics event;
  OracleF1 best_f1_oracle;  //!< over the rows' chosen scores (first covering step)
  HitRates hit_rates;
  CauseRecall cause_recall;
};

//! Computes every metric above with one set of conventions. `point_labels` gives the rows
//! (its length is the number of rows); `segments` the labelled anomalies with causes (for a
//! file without cause labels, segments_from_points(point_labels)). Unjudged rows get score
//! -inf for the oracle.
EvaluationReport evaluate(const StepResults& steps, const std::vector<std::uint8_t>& point_labels,
                          const std::vector<LabelSegment>& segments,
                          const EvaluationOptions& options);

}  // namespace mscred::pipeline
