#pragma once
// Scoring of MSCRED residual matrices: score per scale, thresholds, detection, severity and
// root cause. Shared by `mscred eval` and the daemon so that an evaluated number is the number
// the daemon would produce.
//
// Input everywhere is the residual of the newest step, R_s = (X_s - Xhat_s)^2, laid out
// row-major as float [scales, n, n], scales in ascending window order (index 0 = shortest
// window). All functions are pure and thread-safe (they touch only their arguments); none
// blocks. The only allocations are the vectors of the returned value; the `*_into` variants
// reuse the capacity of an existing result, so a worker thread that keeps one result per
// entity scores without allocating once warm.
//
// Error convention: inconsistent arguments (sizes, config out of range, empty validation set)
// throw std::invalid_argument naming the parameter. They are configuration or programming
// errors; the daemon checks its config once at start-up with check_score_config() so the data
// path never throws. Non-finite residual elements (NaN/inf from a broken model) are not
// counted as poorly reconstructed, are left out of every mass, and are counted in
// StepScore::nonfinite so that they are visible rather than silently dropped.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mscred::pipeline {

//! Which residual to use for the root cause: follow ScoreConfig::detect_scale.
inline constexpr int kCauseScaleFollowsDetect = -2;
//! Scale index meaning "all scales together" (the total score; summed residuals for causes).
inline constexpr int kAllScales = -1;

//! Scoring parameters; defaults are those of the authors' code and of the paper.
struct ScoreConfig {
  //! A residual element above theta (strictly) is "poorly reconstructed".
  double theta = 0.005;
  //! tau_s = beta * max(validation scores of scale s).
  double beta = 1.5;
  //! Scale whose score decides detection: 0..scales-1, or kAllScales for the total.
  int detect_scale = 0;
  //! Number of sensors and of sensor pairs reported with each detection.
  std::size_t top_k = 3;
  //! Residual used for root causes: a scale index, kAllScales (sum over scales), or
  //! kCauseScaleFollowsDetect (the detection scale; the sum over scales when detecting on
  //! the total).
  int cause_scale = kCauseScaleFollowsDetect;
};

//! Detection thresholds fitted on validation scores.
struct Thresholds {
  std::vector<double> tau;  //!< one per scale, ascending window order
  double tau_total = 0.0;   //!< for the total over scales
};

//! Score of one step.
struct StepScore {
  std::vector<std::int64_t> count;  //!< elements > theta, per scale
  std::int64_t total = 0;           //!< sum of count over scales
  std::vector<double> mass;         //!< sum of (finite) residual elements, per scale
  std::int64_t nonfinite = 0;       //!< NaN/inf elements seen, all scales together
};

//! One sensor's share of the poorly reconstructed elements. For sensor k: the elements of row
//! k and of column k, with the diagonal element (k, k) counted once (it belongs to sensor k
//! alone). So every off-diagonal element (i, j) counts once for i and once for j.
struct SensorRank {
  int sensor = 0;
  std::int64_t count = 0;  //!< elements of row k and column k above theta
  double mass = 0.0;       //!< sum of all (finite) residuals of row k and column k
};

//! The ranking order of sensors everywhere: count descending, then mass descending, then the
//! lower sensor index (so that rankings are deterministic).
bool sensor_rank_before(const SensorRank& a, const SensorRank& b);

//! One sensor pair, i < j. residual = (R[i][j] + R[j][i]) / 2: the reconstruction need not be
//! symmetric, and the mean equals the element itself when it is.
struct PairRank {
  int i = 0;
  int j = 0;
  double residual = 0.0;
};

//! How long-lived the anomaly looks, from which window lengths detect it (as in the paper).
enum class Severity { kNone, kShort, kMedium, kLong };

//! "none", "short", "medium", "long" (the `severity` label of mscred_alerts_total).
const char* to_string(Severity severity);

//! Result of scoring one step.
struct Detection {
  bool detected = false;  //!< the chosen score exceeds its tau
  Severity severity = Severity::kNone;
  StepScore score;
  //! 1 where count[s] > tau[s], per scale (independent of the chosen scale).
  std::vector<std::uint8_t> scale_detected;
  //! Top min(top_k, n) sensors and top min(top_k, n(n-1)/2) pairs; filled only when detected
  //! (empty otherwise) so that normal steps cost one pass over the residual.
  std::vector<SensorRank> top_sensors;
  std::vector<PairRank> top_pairs;
};

//! Counts, total and mass per scale of a residual [scales, n, n]. Throws on scales or n of 0, a
//! null residual, or theta not finite or < 0.
StepScore score_residual(const float* residual, std::size_t scales, std::size_t n, double theta);
void score_residual_into(const float* residual, std::size_t scales, std::size_t n, double theta,
                         StepScore* out);

//! The score that decides detection: count[detect_scale], or total for kAllScales. Also the
//! continuous score for best_f1_oracle and the `mscred_score` gauge. Throws when out of range.
double chosen_score(const StepScore& score, int detect_scale);

//! tau_s = beta * max over `validation` of count[s]; tau_total likewise on total. A maximum of
//! 0 gives tau = 0, so any positive count detects (detection is "score > tau"). Throws on an
//! empty set, on entries whose number of scales differ, and on beta not finite or <= 0.
Thresholds fit_thresholds(const std::vector<StepScore>& validation, double beta);

//! All n sensors, best first: count descending, then mass descending, then sensor index.
//! `scale` is a scale index or kAllScales (counts and masses summed over scales).
std::vector<SensorRank> rank_sensors(const float* residual, std::size_t scales, std::size_t n,
                                     int scale, double theta);

//! Top min(k, n(n-1)/2) pairs i < j by residual descending, ties by (i, j) ascending.
//! `scale` as for rank_sensors (kAllScales sums the pair residual over scales).
std::vector<PairRank> rank_pairs(const float* residual, std::size_t scales, std::size_t n,
                                 int scale, std::size_t k);

//! Severity from per-scale detections (`scale_detected`, ascending window order) once the
//! chosen score has detected (`detected` false gives kNone):
//!   - detected at the longest scale (index scales-1)   -> kLong
//!   - else detected at any middle scale (1..scales-2)  -> kMedium
//!   - else (shortest scale only, or no single scale: a detection on the total) -> kShort.
//! With 3 scales this is the paper's rule. With 2 scales there is no medium. With 1 scale the
//! result is kShort: one window cannot tell how long an anomaly lasts.
Severity classify_severity(const std::uint8_t* scale_detected, std::size_t scales, bool detected);

//! A threshold that no step can exceed: count[s] <= n*n and total <= scales*n*n, so
//! tau_s >= n*n (or tau_total >= scales*n*n) means that score can never detect. This happens
//! when the validation windows already have most elements above theta (an undertrained model,
//! or theta too small for the scale of the normalised data). `scale` is the scale index or
//! kAllScales for the total.
struct UnusableThreshold {
  int scale = 0;
  double tau = 0.0;
  std::int64_t max_count = 0;  //!< n*n, or scales*n*n for the total
};

//! The thresholds of `thresholds` that can never be exceeded by a model with `scales` scales
//! of n x n matrices, in scale order, the total last. Empty when every score can detect.
std::vector<UnusableThreshold> unusable_thresholds(const Thresholds& thresholds, std::size_t scales,
                                                   std::size_t n);

//! One line saying which thresholds can never be exceeded and what to do (train longer, raise
//! theta, lower beta); empty when `unusable` is empty. `windows` names the scales
//! (signature window lengths, index-aligned with the thresholds).
std::string describe_unusable_thresholds(const std::vector<UnusableThreshold>& unusable,
                                         const std::vector<int>& windows);

//! Empty when `config` and `thresholds` fit a model with `scales` scales, else a message naming
//! the offending key (scoring.theta, scoring.beta, scoring.detect_scale, ...).
std::string check_score_config(const ScoreConfig& config, const Thresholds& thresholds,
                               std::size_t scales);

//! Scores one step, decides detection and severity, and ranks causes when detected.
//! Throws std::invalid_argument when check_score_config() would fail.
Detection detect(const float* residual, std::size_t scales, std::size_t n,
                 const ScoreConfig& config, const Thresholds& thresholds);
void detect_into(const float* residual, std::size_t scales, std::size_t n,
                 const ScoreConfig& config, const Thresholds& thresholds, Detection* out);

}  // namespace mscred::pipeline
