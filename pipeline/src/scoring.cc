#include "mscred/pipeline/scoring.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace mscred::pipeline {
namespace {

// A residual element as a double, or 0 with `finite` false when NaN/inf. Non-finite elements
// are never "above theta" and never enter a mass (see the header).
inline double element(float value, bool* finite) {
  *finite = std::isfinite(value);
  return *finite ? static_cast<double>(value) : 0.0;
}

inline double finite_or_zero(float value) {
  return std::isfinite(value) ? static_cast<double>(value) : 0.0;
}

// Scales [first, last) that `scale` stands for (one scale, or all of them for kAllScales).
struct ScaleRange {
  std::size_t first;
  std::size_t last;
};

ScaleRange scale_range(int scale, std::size_t scales, const char* what) {
  if (scale == kAllScales) return {0, scales};
  if (scale < 0 || static_cast<std::size_t>(scale) >= scales) {
    throw std::invalid_argument(std::string(what) + ": scale " + std::to_string(scale) +
                                " out of range for " + std::to_string(scales) + " scales");
  }
  return {static_cast<std::size_t>(scale), static_cast<std::size_t>(scale) + 1};
}

void check_theta(double theta, const char* what) {
  if (!std::isfinite(theta) || theta < 0.0) {
    throw std::invalid_argument(std::string(what) + ": theta must be finite and >= 0, got " +
                                std::to_string(theta));
  }
}

void check_shape(const float* residual, std::size_t scales, std::size_t n, const char* what) {
  if (scales == 0) throw std::invalid_argument(std::string(what) + ": scales must be > 0");
  if (n == 0) throw std::invalid_argument(std::string(what) + ": n must be > 0");
  if (residual == nullptr) throw std::invalid_argument(std::string(what) + ": residual is null");
}

// Row k and column k of each scale in `range`, the diagonal once.
SensorRank sensor_contribution(const float* residual, std::size_t n, ScaleRange range, double theta,
                               std::size_t k) {
  SensorRank rank;
  rank.sensor = static_cast<int>(k);
  bool finite = true;
  for (std::size_t s = range.first; s < range.last; ++s) {
    const float* matrix = residual + s * n * n;
    for (std::size_t j = 0; j < n; ++j) {
      // Row element (k, j); for j == k this is the diagonal, taken here and skipped below.
      const double row = element(matrix[k * n + j], &finite);
      rank.count += (finite && row > theta) ? 1 : 0;
      rank.mass += row;
      if (j == k) continue;
      const double column = element(matrix[j * n + k], &finite);
      rank.count += (finite && column > theta) ? 1 : 0;
      rank.mass += column;
    }
  }
  return rank;
}

double pair_residual(const float* residual, std::size_t n, ScaleRange range, std::size_t i,
                     std::size_t j) {
  double sum = 0.0;
  for (std::size_t s = range.first; s < range.last; ++s) {
    const float* matrix = residual + s * n * n;
    sum += 0.5 * (finite_or_zero(matrix[i * n + j]) + finite_or_zero(matrix[j * n + i]));
  }
  return sum;
}

bool pair_before(const PairRank& a, const PairRank& b) {
  if (a.residual != b.residual) return a.residual > b.residual;
  if (a.i != b.i) return a.i < b.i;
  return a.j < b.j;
}

// Keeps `top` sorted by `before` and at most k long; capacity k was reserved by the caller, so
// this never allocates.
template <typename T, typename Before>
void insert_top(std::vector<T>* top, std::size_t k, const T& item, Before before) {
  if (k == 0) return;
  if (top->size() == k) {
    if (!before(item, top->back())) return;
    top->pop_back();
  }
  top->insert(std::upper_bound(top->begin(), top->end(), item, before), item);
}

// The scale whose residual gives root causes.
int cause_scale_of(const ScoreConfig& config) {
  return config.cause_scale == kCauseScaleFollowsDetect ? config.detect_scale : config.cause_scale;
}

void top_sensors_into(const float* residual, std::size_t n, ScaleRange range, double theta,
                      std::size_t k, std::vector<SensorRank>* top) {
  top->clear();
  const std::size_t keep = std::min(k, n);
  top->reserve(keep);
  for (std::size_t sensor = 0; sensor < n; ++sensor) {
    insert_top(top, keep, sensor_contribution(residual, n, range, theta, sensor),
               sensor_rank_before);
  }
}

void top_pairs_into(const float* residual, std::size_t n, ScaleRange range, std::size_t k,
                    std::vector<PairRank>* top) {
  top->clear();
  const std::size_t keep = std::min(k, n * (n - 1) / 2);
  top->reserve(keep);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const PairRank pair{static_cast<int>(i), static_cast<int>(j),
                          pair_residual(residual, n, range, i, j)};
      insert_top(top, keep, pair, pair_before);
    }
  }
}

}  // namespace

bool sensor_rank_before(const SensorRank& a, const SensorRank& b) {
  if (a.count != b.count) return a.count > b.count;
  if (a.mass != b.mass) return a.mass > b.mass;
  return a.sensor < b.sensor;
}

const char* to_string(Severity severity) {
  switch (severity) {
    case Severity::kNone:
      return "none";
    case Severity::kShort:
      return "short";
    case Severity::kMedium:
      return "medium";
    case Severity::kLong:
      return "long";
  }
  return "unknown";
}

void score_residual_into(const float* residual, std::size_t scales, std::size_t n, double theta,
                         StepScore* out) {
  check_shape(residual, scales, n, "score_residual");
  check_theta(theta, "score_residual");
  out->count.assign(scales, 0);
  out->mass.assign(scales, 0.0);
  out->total = 0;
  out->nonfinite = 0;
  bool finite = true;
  for (std::size_t s = 0; s < scales; ++s) {
    const float* matrix = residual + s * n * n;
    std::int64_t count = 0;
    double mass = 0.0;
    for (std::size_t e = 0; e < n * n; ++e) {
      const double value = element(matrix[e], &finite);
      out->nonfinite += finite ? 0 : 1;
      count += (finite && value > theta) ? 1 : 0;
      mass += value;
    }
    out->count[s] = count;
    out->mass[s] = mass;
    out->total += count;
  }
}

StepScore score_residual(const float* residual, std::size_t scales, std::size_t n, double theta) {
  StepScore score;
  score_residual_into(residual, scales, n, theta, &score);
  return score;
}

double chosen_score(const StepScore& score, int detect_scale) {
  if (detect_scale == kAllScales) return static_cast<double>(score.total);
  const ScaleRange range = scale_range(detect_scale, score.count.size(), "chosen_score");
  return static_cast<double>(score.count[range.first]);
}

Thresholds fit_thresholds(const std::vector<StepScore>& validation, double beta) {
  if (validation.empty()) {
    throw std::invalid_argument("fit_thresholds: the validation set is empty");
  }
  if (!std::isfinite(beta) || beta <= 0.0) {
    throw std::invalid_argument("fit_thresholds: beta must be finite and > 0, got " +
                                std::to_string(beta));
  }
  const std::size_t scales = validation.front().count.size();
  std::vector<std::int64_t> max_count(scales, 0);
  std::int64_t max_total = 0;
  for (std::size_t v = 0; v < validation.size(); ++v) {
    const StepScore& score = validation[v];
    if (score.count.size() != scales) {
      throw std::invalid_argument("fit_thresholds: validation step " + std::to_string(v) + " has " +
                                  std::to_string(score.count.size()) + " scales, step 0 has " +
                                  std::to_string(scales));
    }
    for (std::size_t s = 0; s < scales; ++s)
      max_count[s] = std::max(max_count[s], score.count[s]);
    max_total = std::max(max_total, score.total);
  }
  Thresholds thresholds;
  thresholds.tau.resize(scales);
  for (std::size_t s = 0; s < scales; ++s) {
    thresholds.tau[s] = beta * static_cast<double>(max_count[s]);
  }
  thresholds.tau_total = beta * static_cast<double>(max_total);
  return thresholds;
}

std::vector<UnusableThreshold> unusable_thresholds(const Thresholds& thresholds, std::size_t scales,
                                                   std::size_t n) {
  if (thresholds.tau.size() != scales) {
    throw std::invalid_argument("unusable_thresholds: " + std::to_string(thresholds.tau.size()) +
                                " thresholds for " + std::to_string(scales) + " scales");
  }
  const auto per_scale = static_cast<std::int64_t>(n * n);
  std::vector<UnusableThreshold> out;
  for (std::size_t s = 0; s < scales; ++s) {
    if (!(thresholds.tau[s] < static_cast<double>(per_scale))) {
      out.push_back({static_cast<int>(s), thresholds.tau[s], per_scale});
    }
  }
  const auto total = static_cast<std::int64_t>(scales) * per_scale;
  if (!(thresholds.tau_total < static_cast<double>(total))) {
    out.push_back({kAllScales, thresholds.tau_total, total});
  }
  return out;
}

std::string describe_unusable_thresholds(const std::vector<UnusableThreshold>& unusable,
                                         const std::vector<int>& windows) {
  if (unusable.empty()) return {};
  std::string s = "thresholds that no step can exceed (it can never detect):";
  for (const UnusableThreshold& u : unusable) {
    const bool total = u.scale == kAllScales;
    const auto index = static_cast<std::size_t>(u.scale);
    s += total ? " total"
               : " scale " + (index < windows.size() ? std::to_string(windows[index])
                                                     : "#" + std::to_string(u.scale));
    char buf[64];
    std::snprintf(buf, sizeof buf, " tau %.1f >= %lld elements;", u.tau,
                  static_cast<long long>(u.max_count));
    s += buf;
  }
  s += " the validation windows already have nearly every residual element above theta: train "
       "longer (more epochs or --max-seconds), or raise --theta (e.g. for z-score data), or "
       "lower --beta";
  return s;
}

std::vector<SensorRank> rank_sensors(const float* residual, std::size_t scales, std::size_t n,
                                     int scale, double theta) {
  check_shape(residual, scales, n, "rank_sensors");
  check_theta(theta, "rank_sensors");
  const ScaleRange range = scale_range(scale, scales, "rank_sensors");
  std::vector<SensorRank> ranks(n);
  for (std::size_t k = 0; k < n; ++k)
    ranks[k] = sensor_contribution(residual, n, range, theta, k);
  std::sort(ranks.begin(), ranks.end(), sensor_rank_before);
  return ranks;
}

std::vector<PairRank> rank_pairs(const float* residual, std::size_t scales, std::size_t n,
                                 int scale, std::size_t k) {
  check_shape(residual, scales, n, "rank_pairs");
  std::vector<PairRank> top;
  top_pairs_into(residual, n, scale_range(scale, scales, "rank_pairs"), k, &top);
  return top;
}

Severity classify_severity(const std::uint8_t* scale_detected, std::size_t scales, bool detected) {
  if (!detected) return Severity::kNone;
  if (scales >= 2 && scale_detected[scales - 1] != 0) return Severity::kLong;
  for (std::size_t s = 1; s + 1 < scales; ++s) {
    if (scale_detected[s] != 0) return Severity::kMedium;
  }
  return Severity::kShort;
}

std::string check_score_config(const ScoreConfig& config, const Thresholds& thresholds,
                               std::size_t scales) {
  const auto scale_ok = [scales](int scale) {
    return scale == kAllScales || (scale >= 0 && static_cast<std::size_t>(scale) < scales);
  };
  if (scales == 0) return "scoring: the model has no scales";
  if (!std::isfinite(config.theta) || config.theta < 0.0) {
    return "scoring.theta must be finite and >= 0, got " + std::to_string(config.theta);
  }
  if (!std::isfinite(config.beta) || config.beta <= 0.0) {
    return "scoring.beta must be finite and > 0, got " + std::to_string(config.beta);
  }
  if (!scale_ok(config.detect_scale)) {
    return "scoring.detect_scale " + std::to_string(config.detect_scale) +
           " out of range (-1 = total, 0.." + std::to_string(scales - 1) + ")";
  }
  if (config.cause_scale != kCauseScaleFollowsDetect && !scale_ok(config.cause_scale)) {
    return "scoring.cause_scale " + std::to_string(config.cause_scale) +
           " out of range (-2 = detection scale, -1 = all, 0.." + std::to_string(scales - 1) + ")";
  }
  if (thresholds.tau.size() != scales) {
    return "scoring: thresholds have " + std::to_string(thresholds.tau.size()) +
           " scales, the model has " + std::to_string(scales);
  }
  return {};
}

void detect_into(const float* residual, std::size_t scales, std::size_t n,
                 const ScoreConfig& config, const Thresholds& thresholds, Detection* out) {
  if (const std::string error = check_score_config(config, thresholds, scales); !error.empty()) {
    throw std::invalid_argument("detect: " + error);
  }
  score_residual_into(residual, scales, n, config.theta, &out->score);

  // Per-scale decisions first: severity needs all of them, whichever score is chosen.
  out->scale_detected.assign(scales, 0);
  for (std::size_t s = 0; s < scales; ++s) {
    out->scale_detected[s] = static_cast<double>(out->score.count[s]) > thresholds.tau[s];
  }
  out->detected = config.detect_scale == kAllScales
                      ? static_cast<double>(out->score.total) > thresholds.tau_total
                      : out->scale_detected[static_cast<std::size_t>(config.detect_scale)] != 0;
  out->severity = classify_severity(out->scale_detected.data(), scales, out->detected);

  if (!out->detected) {
    out->top_sensors.clear();
    out->top_pairs.clear();
    return;
  }
  const ScaleRange range = scale_range(cause_scale_of(config), scales, "detect");
  top_sensors_into(residual, n, range, config.theta, config.top_k, &out->top_sensors);
  top_pairs_into(residual, n, range, config.top_k, &out->top_pairs);
}

Detection detect(const float* residual, std::size_t scales, std::size_t n,
                 const ScoreConfig& config, const Thresholds& thresholds) {
  Detection detection;
  detect_into(residual, scales, n, config, thresholds, &detection);
  return detection;
}

}  // namespace mscred::pipeline
