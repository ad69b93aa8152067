#pragma once
// A deterministic stand-in model for tests and demos without a trained checkpoint.

#include <chrono>
#include <memory>

#include "mscred/daemon/scorer.h"

namespace mscred::daemon {

//! Reads the stand-in window layout [window_rows, n] (entity_state.cc). Per scale s, the
//! score is the number of cells with |value| > level in the newest s rows; the threshold
//! is 0.5, so a step is detected when any cell of its newest `step` rows exceeds the
//! level. Top sensors are those with exceedances in the newest step (most exceedances
//! first, then the largest excess); pairs are formed from the top sensors. Severity
//! follows how long the excursion lasts within the largest scale: at most scales[0]
//! rows -> short, at most scales[1] -> medium, longer -> long. Owned by the worker thread.
class FakeScorer : public StepScorer {
 public:
  FakeScorer(std::string model_id, std::vector<std::string> sensors, std::vector<int> scales,
             int step, int history, double level, int top_k);
  const ScorerInfo& info() const override { return info_; }
  std::vector<StepOutcome> score(const float* windows, size_t batch) override;

 private:
  StepOutcome score_one(const float* window) const;
  ScorerInfo info_;
  double level_;
  int top_k_;
  size_t rows_;
};

//! Wraps a scorer and makes every score() call take at least `per_window` x batch longer
//! (it sleeps), standing in for a slow model: `models[].fake.step_cost_ms`, for tests and
//! demos of the capacity check and of batching. Owned by the worker thread.
class CostlyScorer : public StepScorer {
 public:
  CostlyScorer(std::unique_ptr<StepScorer> inner, std::chrono::microseconds per_window)
      : inner_(std::move(inner)), per_window_(per_window) {}
  const ScorerInfo& info() const override { return inner_->info(); }
  std::vector<StepOutcome> score(const float* windows, size_t batch) override;

 private:
  std::unique_ptr<StepScorer> inner_;
  std::chrono::microseconds per_window_;
};

}  // namespace mscred::daemon
