#include "mscred/pipeline/evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace mscred::pipeline {
namespace {

std::string at(const char* what, std::size_t index) {
  return std::string(what) + "[" + std::to_string(index) + "]";
}

double ratio(std::size_t numerator, std::size_t denominator) {
  return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}

double f1_of(double precision, double recall) {
  return precision + recall == 0.0 ? 0.0 : 2.0 * precision * recall / (precision + recall);
}

void finish(PointMetrics* m) {
  m->precision = ratio(m->tp, m->tp + m->fp);
  m->recall = ratio(m->tp, m->tp + m->fn);
  m->f1 = f1_of(m->precision, m->recall);
}

void check_same_length(std::size_t a, std::size_t b, const char* what) {
  if (a != b) {
    throw std::invalid_argument(std::string(what) + ": lengths differ (" + std::to_string(a) +
                                " vs " + std::to_string(b) + ")");
  }
}

void check_step_rows(const std::vector<std::size_t>& step_rows, const char* what) {
  for (std::size_t t = 1; t < step_rows.size(); ++t) {
    if (step_rows[t] <= step_rows[t - 1]) {
      throw std::invalid_argument(std::string(what) + ": step rows must be strictly increasing, " +
                                  at("step_rows", t) + " = " + std::to_string(step_rows[t]) +
                                  " after " + std::to_string(step_rows[t - 1]));
    }
  }
}

void check_segments(const std::vector<LabelSegment>& segments, std::size_t n_sensors,
                    const char* what) {
  for (std::size_t g = 0; g < segments.size(); ++g) {
    const LabelSegment& segment = segments[g];
    if (segment.begin >= segment.end) {
      throw std::invalid_argument(std::string(what) + ": " + at("segments", g) + " is empty [" +
                                  std::to_string(segment.begin) + ", " +
                                  std::to_string(segment.end) + ")");
    }
    for (const int cause : segment.causes) {
      if (cause < 0 || static_cast<std::size_t>(cause) >= n_sensors) {
        throw std::invalid_argument(std::string(what) + ": " + at("segments", g) + " cause " +
                                    std::to_string(cause) + " is not a sensor of " +
                                    std::to_string(n_sensors));
      }
    }
  }
}

// Distinct causes, so that a label listing a sensor twice does not count it twice.
std::vector<int> distinct(std::vector<int> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

// |top k of ranking ∩ causes| / |causes|, causes distinct and non-empty.
double share_found(const std::vector<SensorRank>& ranking, std::size_t k,
                   const std::vector<int>& causes) {
  std::size_t found = 0;
  for (std::size_t r = 0; r < std::min(k, ranking.size()); ++r) {
    found += std::binary_search(causes.begin(), causes.end(), ranking[r].sensor) ? 1 : 0;
  }
  return ratio(found, causes.size());
}

// Whether a step with newest row `row` hits `segment` under a tolerance.
bool hits(std::size_t row, const LabelSegment& segment, std::size_t tolerance_rows) {
  return row >= segment.begin && row < segment.end + tolerance_rows;
}

// All n sensors with nothing accumulated yet.
std::vector<SensorRank> zero_ranks(std::size_t n_sensors) {
  std::vector<SensorRank> ranks(n_sensors);
  for (std::size_t k = 0; k < n_sensors; ++k)
    ranks[k].sensor = static_cast<int>(k);
  return ranks;
}

// Adds step t's sensor counts and masses to `ranks` (indexed by sensor, not yet sorted).
void add_step(const std::vector<std::vector<SensorRank>>& step_sensors, std::size_t t,
              std::vector<SensorRank>* ranks) {
  for (const SensorRank& r : step_sensors[t]) {
    if (r.sensor < 0 || static_cast<std::size_t>(r.sensor) >= ranks->size()) {
      throw std::invalid_argument(at("step_sensors", t) + " names sensor " +
                                  std::to_string(r.sensor) + " of " +
                                  std::to_string(ranks->size()));
    }
    (*ranks)[static_cast<std::size_t>(r.sensor)].count += r.count;
    (*ranks)[static_cast<std::size_t>(r.sensor)].mass += r.mass;
  }
}

}  // namespace

std::vector<std::int64_t> judging_steps(const std::vector<std::size_t>& step_rows,
                                        std::size_t n_rows, std::size_t max_window) {
  if (max_window == 0) throw std::invalid_argument("judging_steps: max_window must be > 0");
  check_step_rows(step_rows, "judging_steps");
  if (!step_rows.empty() && step_rows.back() >= n_rows) {
    throw std::invalid_argument("judging_steps: " + at("step_rows", step_rows.size() - 1) + " = " +
                                std::to_string(step_rows.back()) + " is not a row of " +
                                std::to_string(n_rows));
  }
  std::vector<std::int64_t> judge(n_rows, -1);
  // Rows below next_row were covered by an earlier step; since rows increase, step t is the
  // first to cover exactly the rows of its window at or above next_row.
  std::size_t next_row = 0;
  for (std::size_t t = 0; t < step_rows.size(); ++t) {
    const std::size_t row = step_rows[t];
    const std::size_t window_first = row + 1 >= max_window ? row + 1 - max_window : 0;
    for (std::size_t x = std::max(next_row, window_first); x <= row; ++x) {
      judge[x] = static_cast<std::int64_t>(t);
    }
    next_row = row + 1;
  }
  return judge;
}

RowPredictions rows_from_steps(const std::vector<std::size_t>& step_rows,
                               const std::vector<std::uint8_t>& step_detected, std::size_t n_rows,
                               std::size_t max_window) {
  check_same_length(step_rows.size(), step_detected.size(), "rows_from_steps");
  const std::vector<std::int64_t> judge = judging_steps(step_rows, n_rows, max_window);
  RowPredictions result;
  result.predicted.assign(n_rows, 0);
  for (std::size_t x = 0; x < n_rows; ++x) {
    if (judge[x] < 0) {
      ++result.unjudged;
    } else {
      result.predicted[x] = step_detected[static_cast<std::size_t>(judge[x])] != 0 ? 1 : 0;
    }
  }
  return result;
}

std::vector<double> row_scores_from_steps(const std::vector<std::size_t>& step_rows,
                                          const std::vector<double>& step_score, std::size_t n_rows,
                                          std::size_t max_window, double unjudged_score) {
  check_same_length(step_rows.size(), step_score.size(), "row_scores_from_steps");
  const std::vector<std::int64_t> judge = judging_steps(step_rows, n_rows, max_window);
  std::vector<double> scores(n_rows, unjudged_score);
  for (std::size_t x = 0; x < n_rows; ++x) {
    if (judge[x] >= 0) scores[x] = step_score[static_cast<std::size_t>(judge[x])];
  }
  return scores;
}

PointMetrics point_metrics(const std::vector<std::uint8_t>& label,
                           const std::vector<std::uint8_t>& predicted) {
  check_same_length(label.size(), predicted.size(), "point_metrics");
  PointMetrics m;
  for (std::size_t x = 0; x < label.size(); ++x) {
    const bool l = label[x] != 0;
    const bool p = predicted[x] != 0;
    m.tp += (l && p) ? 1 : 0;
    m.fp += (!l && p) ? 1 : 0;
    m.fn += (l && !p) ? 1 : 0;
    m.tn += (!l && !p) ? 1 : 0;
  }
  finish(&m);
  return m;
}

PointMetrics point_adjusted_metrics(const std::vector<std::uint8_t>& label,
                                    const std::vector<std::uint8_t>& predicted) {
  check_same_length(label.size(), predicted.size(), "point_adjusted_metrics");
  std::vector<std::uint8_t> adjusted = predicted;
  for (const LabelSegment& segment : segments_from_points(label)) {
    const auto first = predicted.begin() + static_cast<std::ptrdiff_t>(segment.begin);
    const auto last = predicted.begin() + static_cast<std::ptrdiff_t>(segment.end);
    if (std::any_of(first, last, [](std::uint8_t p) { return p != 0; })) {
      std::fill(adjusted.begin() + static_cast<std::ptrdiff_t>(segment.begin),
                adjusted.begin() + static_cast<std::ptrdiff_t>(segment.end), 1);
    }
  }
  return point_metrics(label, adjusted);
}

OracleF1 best_f1_oracle(const std::vector<double>& score, const std::vector<std::uint8_t>& label) {
  check_same_length(score.size(), label.size(), "best_f1_oracle");
  for (std::size_t x = 0; x < score.size(); ++x) {
    if (std::isnan(score[x])) {
      throw std::invalid_argument("best_f1_oracle: " + at("score", x) + " is NaN");
    }
  }
  const std::size_t positives = static_cast<std::size_t>(
      std::count_if(label.begin(), label.end(), [](std::uint8_t l) { return l != 0; }));

  // Predicting nothing is the starting point; lower the threshold one distinct value at a time.
  OracleF1 best;
  best.metrics.fn = positives;
  best.metrics.tn = label.size() - positives;
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&score](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  PointMetrics m = best.metrics;
  for (std::size_t r = 0; r < order.size();) {
    const double threshold = score[order[r]];
    for (; r < order.size() && score[order[r]] == threshold; ++r) {
      if (label[order[r]] != 0) {
        ++m.tp;
        --m.fn;
      } else {
        ++m.fp;
        --m.tn;
      }
    }
    finish(&m);
    if (m.f1 > best.metrics.f1) best = {threshold, m};
  }
  return best;
}

EventMetrics event_metrics(const std::vector<std::size_t>& step_rows,
                           const std::vector<std::uint8_t>& step_detected,
                           const std::vector<LabelSegment>& segments, std::size_t tolerance_rows) {
  check_same_length(step_rows.size(), step_detected.size(), "event_metrics");
  check_step_rows(step_rows, "event_metrics");
  check_segments(segments, std::numeric_limits<std::size_t>::max(), "event_metrics");

  EventMetrics m;
  m.segments = segments.size();
  std::vector<std::uint8_t> segment_hit(segments.size(), 0);
  bool in_event = false;
  bool event_true = false;
  for (std::size_t t = 0; t <= step_rows.size(); ++t) {
    const bool detected = t < step_rows.size() && step_detected[t] != 0;
    if (!detected) {
      // A run of detecting steps ends here (or never started).
      if (in_event) m.events_true += event_true ? 1 : 0;
      in_event = false;
      continue;
    }
    if (!in_event) {
      ++m.events;
      in_event = true;
      event_true = false;
    }
    for (std::size_t g = 0; g < segments.size(); ++g) {
      if (hits(step_rows[t], segments[g], tolerance_rows)) {
        segment_hit[g] = 1;
        event_true = true;
      }
    }
  }
  m.segments_detected =
      static_cast<std::size_t>(std::count(segment_hit.begin(), segment_hit.end(), std::uint8_t{1}));
  m.precision = ratio(m.events_true, m.events);
  m.recall = ratio(m.segments_detected, m.segments);
  m.f1 = f1_of(m.precision, m.recall);
  return m;
}

double hit_rate(const std::vector<int>& ranking, const std::vector<int>& causes, double percent) {
  if (causes.empty()) throw std::invalid_argument("hit_rate: causes is empty");
  if (!std::isfinite(percent) || percent <= 0.0) {
    throw std::invalid_argument("hit_rate: percent must be finite and > 0, got " +
                                std::to_string(percent));
  }
  const std::vector<int> truth = distinct(causes);
  // The small epsilon keeps an exact product such as 100% of 3 from flooring to 2.
  const auto top = static_cast<std::size_t>(
      std::floor(percent / 100.0 * static_cast<double>(truth.size()) + 1e-9));
  std::size_t found = 0;
  for (std::size_t r = 0; r < std::min(top, ranking.size()); ++r) {
    found += std::binary_search(truth.begin(), truth.end(), ranking[r]) ? 1 : 0;
  }
  return ratio(found, truth.size());
}

std::vector<SensorRank> aggregate_sensor_ranks(
    const std::vector<std::vector<SensorRank>>& step_sensors, std::size_t first_step,
    std::size_t last_step, std::size_t n_sensors) {
  if (first_step > last_step || last_step > step_sensors.size()) {
    throw std::invalid_argument("aggregate_sensor_ranks: steps [" + std::to_string(first_step) +
                                ", " + std::to_string(last_step) + ") out of range of " +
                                std::to_string(step_sensors.size()));
  }
  std::vector<SensorRank> ranks = zero_ranks(n_sensors);
  for (std::size_t t = first_step; t < last_step; ++t)
    add_step(step_sensors, t, &ranks);
  std::sort(ranks.begin(), ranks.end(), sensor_rank_before);
  return ranks;
}

HitRates segment_hit_rates(const std::vector<std::size_t>& step_rows,
                           const std::vector<std::vector<SensorRank>>& step_sensors,
                           const std::vector<LabelSegment>& segments, std::size_t n_sensors,
                           std::size_t max_window) {
  check_same_length(step_rows.size(), step_sensors.size(), "segment_hit_rates");
  check_step_rows(step_rows, "segment_hit_rates");
  check_segments(segments, n_sensors, "segment_hit_rates");
  if (max_window == 0) throw std::invalid_argument("segment_hit_rates: max_window must be > 0");

  HitRates result;
  double sum_100 = 0.0;
  double sum_150 = 0.0;
  for (const LabelSegment& segment : segments) {
    if (segment.causes.empty()) continue;
    // Window rows [row - max_window + 1, row] overlap [begin, end) iff
    // begin <= row < end + max_window - 1; with increasing rows these steps are contiguous.
    const auto first = std::lower_bound(step_rows.begin(), step_rows.end(), segment.begin);
    const auto last = std::lower_bound(first, step_rows.end(), segment.end + max_window - 1);
    if (first == last) {
      ++result.segments_without_steps;
      continue;
    }
    const std::vector<SensorRank> ranks =
        aggregate_sensor_ranks(step_sensors, static_cast<std::size_t>(first - step_rows.begin()),
                               static_cast<std::size_t>(last - step_rows.begin()), n_sensors);
    std::vector<int> ranking(ranks.size());
    for (std::size_t r = 0; r < ranks.size(); ++r)
      ranking[r] = ranks[r].sensor;
    sum_100 += hit_rate(ranking, segment.causes, 100.0);
    sum_150 += hit_rate(ranking, segment.causes, 150.0);
    ++result.segments_scored;
  }
  result.at_100 = result.segments_scored == 0 ? 0.0 : sum_100 / result.segments_scored;
  result.at_150 = result.segments_scored == 0 ? 0.0 : sum_150 / result.segments_scored;
  return result;
}

CauseRecall top_k_cause_recall(const std::vector<std::size_t>& step_rows,
                               const std::vector<std::uint8_t>& step_detected,
                               const std::vector<std::vector<SensorRank>>& step_sensors,
                               const std::vector<LabelSegment>& segments, std::size_t n_sensors,
                               std::size_t tolerance_rows, std::size_t k) {
  check_same_length(step_rows.size(), step_detected.size(), "top_k_cause_recall");
  check_same_length(step_rows.size(), step_sensors.size(), "top_k_cause_recall");
  check_step_rows(step_rows, "top_k_cause_recall");
  check_segments(segments, n_sensors, "top_k_cause_recall");

  CauseRecall result;
  double sum = 0.0;
  for (const LabelSegment& segment : segments) {
    if (segment.causes.empty()) continue;
    // Only the detecting steps that hit this segment speak for it.
    std::vector<SensorRank> ranks = zero_ranks(n_sensors);
    bool detected = false;
    for (std::size_t t = 0; t < step_rows.size(); ++t) {
      if (step_detected[t] == 0 || !hits(step_rows[t], segment, tolerance_rows)) continue;
      detected = true;
      add_step(step_sensors, t, &ranks);
    }
    if (!detected) continue;
    std::sort(ranks.begin(), ranks.end(), sensor_rank_before);
    sum += share_found(ranks, k, distinct(segment.causes));
    ++result.segments_scored;
  }
  result.recall = result.segments_scored == 0 ? 0.0 : sum / result.segments_scored;
  return result;
}

void StepResults::add(std::size_t step_row, const Detection& detection, int detect_scale,
                      std::vector<SensorRank> step_sensors) {
  row.push_back(step_row);
  detected.push_back(detection.detected ? 1 : 0);
  score.push_back(chosen_score(detection.score, detect_scale));
  sensors.push_back(std::move(step_sensors));
}

EvaluationReport evaluate(const StepResults& steps, const std::vector<std::uint8_t>& point_labels,
                          const std::vector<LabelSegment>& segments,
                          const EvaluationOptions& options) {
  check_same_length(steps.row.size(), steps.detected.size(), "evaluate: detected");
  check_same_length(steps.row.size(), steps.score.size(), "evaluate: score");
  check_same_length(steps.row.size(), steps.sensors.size(), "evaluate: sensors");

  EvaluationReport report;
  report.rows = point_labels.size();
  report.steps = steps.row.size();
  const RowPredictions rows =
      rows_from_steps(steps.row, steps.detected, point_labels.size(), options.max_window);
  report.unjudged_rows = rows.unjudged;
  report.point = point_metrics(point_labels, rows.predicted);
  report.point_adjusted = point_adjusted_metrics(point_labels, rows.predicted);
  report.event = event_metrics(steps.row, steps.detected, segments, options.tolerance_rows);
  report.best_f1_oracle = best_f1_oracle(
      row_scores_from_steps(steps.row, steps.score, point_labels.size(), options.max_window),
      point_labels);
  report.hit_rates =
      segment_hit_rates(steps.row, steps.sensors, segments, options.n_sensors, options.max_window);
  report.cause_recall =
      top_k_cause_recall(steps.row, steps.detected, steps.sensors, segments, options.n_sensors,
                         options.tolerance_rows, options.top_k);
  return report;
}

}  // namespace mscred::pipeline
