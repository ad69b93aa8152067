#include "mscred/daemon/fake_scorer.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "mscred/daemon/entity_state.h"

namespace mscred::daemon {

FakeScorer::FakeScorer(std::string model_id, std::vector<std::string> sensors,
                       std::vector<int> scales, int step, int history, double level, int top_k)
    : level_(level), top_k_(top_k) {
  info_.model_id = std::move(model_id);
  info_.version = "fake";
  info_.sensors = std::move(sensors);
  info_.scales = std::move(scales);
  info_.step = step;
  info_.history = history;
  info_.thresholds.assign(info_.scales.size(), 0.5);
  rows_ = window_rows(info_);
  info_.window_floats = rows_ * info_.sensors.size();
}

std::vector<StepOutcome> FakeScorer::score(const float* windows, size_t batch) {
  std::vector<StepOutcome> out;
  out.reserve(batch);
  for (size_t b = 0; b < batch; ++b)
    out.push_back(score_one(windows + b * info_.window_floats));
  return out;
}

StepOutcome FakeScorer::score_one(const float* window) const {
  const size_t n = info_.sensors.size();
  auto exceeds = [&](size_t row, size_t col) { return std::fabs(window[row * n + col]) > level_; };

  StepOutcome o;
  for (int scale : info_.scales) {
    size_t first = rows_ - std::min(rows_, static_cast<size_t>(scale));
    double count = 0;
    for (size_t r = first; r < rows_; ++r) {
      for (size_t c = 0; c < n; ++c)
        count += exceeds(r, c) ? 1 : 0;
    }
    o.scores.push_back(count);
  }

  // Sensors exceeding the level in the newest step.
  const size_t step_first = rows_ - std::min(rows_, static_cast<size_t>(info_.step));
  std::vector<StepOutcome::Sensor> hot;
  for (size_t c = 0; c < n; ++c) {
    StepOutcome::Sensor s{c, 0, 0.0};
    for (size_t r = step_first; r < rows_; ++r) {
      if (exceeds(r, c)) {
        ++s.count;
        s.mass += std::fabs(window[r * n + c]) - level_;
      }
    }
    if (s.count > 0) hot.push_back(s);
  }
  if (hot.empty()) return o;

  o.detected = true;
  std::sort(hot.begin(), hot.end(), [](const auto& a, const auto& b) {
    return a.count != b.count ? a.count > b.count : a.mass > b.mass;
  });
  if (hot.size() > static_cast<size_t>(top_k_)) hot.resize(top_k_);
  o.top_sensors = hot;
  for (size_t a = 0; a < hot.size(); ++a) {
    for (size_t b = a + 1; b < hot.size(); ++b) {
      size_t i = std::min(hot[a].index, hot[b].index), j = std::max(hot[a].index, hot[b].index);
      o.top_pairs.push_back({i, j, hot[a].mass * hot[b].mass});
    }
  }

  // How many of the newest rows of the largest scale carry an exceedance.
  size_t hot_rows = 0;
  size_t largest = std::min(rows_, static_cast<size_t>(info_.scales.back()));
  for (size_t r = rows_ - largest; r < rows_; ++r) {
    bool any = false;
    for (size_t c = 0; c < n && !any; ++c)
      any = exceeds(r, c);
    hot_rows += any ? 1 : 0;
  }
  size_t short_limit = static_cast<size_t>(info_.scales.front());
  size_t medium_limit =
      static_cast<size_t>(info_.scales.size() > 1 ? info_.scales[1] : info_.scales.front());
  o.severity = hot_rows <= short_limit ? "short" : hot_rows <= medium_limit ? "medium" : "long";
  return o;
}

std::vector<StepOutcome> CostlyScorer::score(const float* windows, size_t batch) {
  const auto until = std::chrono::steady_clock::now() + per_window_ * static_cast<long>(batch);
  auto out = inner_->score(windows, batch);
  std::this_thread::sleep_until(until);
  return out;
}

}  // namespace mscred::daemon
