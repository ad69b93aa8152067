#include "mscred/daemon/entity_state.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "mscred/pipeline/entity_state.h"
#include "mscred/pipeline/signature.h"

namespace mscred::daemon {

namespace {

// kRawRows: a ring of the newest window_rows() raw rows, emitted oldest first as floats
// [rows, n], with the signature pipeline's warm-up length and step cadence. The fake
// scorer reads this layout, so the worker's batching, acknowledgement and alert path are
// exercised as they will be with a real model.
class RawWindowState : public EntityState {
 public:
  explicit RawWindowState(const ScorerInfo& info)
      : n_(info.sensors.size()),
        rows_(window_rows(info)),
        step_(static_cast<size_t>(std::max(1, info.step))),
        ring_(rows_ * n_, 0.0f) {}

  bool push(const double* row) override {
    float* dst = ring_.data() + head_ * n_;
    for (size_t i = 0; i < n_; ++i)
      dst[i] = static_cast<float>(row[i]);
    head_ = (head_ + 1) % rows_;
    ++seen_;
    return seen_ % step_ == 0;
  }

  bool window_ready() const override { return seen_ >= rows_; }

  void window(float* out) const override {
    // head_ is the oldest row once the ring has wrapped.
    for (size_t r = 0; r < rows_; ++r) {
      const float* src = ring_.data() + ((head_ + r) % rows_) * n_;
      std::copy(src, src + n_, out + r * n_);
    }
  }

 private:
  size_t n_;
  size_t rows_;
  size_t step_;
  std::vector<float> ring_;
  size_t head_ = 0;
  size_t seen_ = 0;
};

// kSignatures: pipeline::EntityState (the checkpoint's normaliser, then incremental
// multi-scale signature matrices); windows [history, scales, n, n]. Missing values were
// already resolved by the worker (pipeline.missing) and timestamps checked, so rows arrive
// complete and in order; the sample count serves as pipeline's timestamp.
class SignatureEntityState : public EntityState {
 public:
  explicit SignatureEntityState(const ScorerInfo& info)
      : state_(*info.normaliser, pipeline::SignatureConfig{info.scales, info.step, info.history,
                                                           pipeline::MissingPolicy::kHoldLast}) {}

  bool push(const double* row) override {
    const auto steps_before = state_.signature().steps();
    ready_ = state_.push(static_cast<double>(++samples_), row);
    return state_.signature().steps() != steps_before;
  }
  // pipeline's push() says whether the step it completed has a full valid window.
  bool window_ready() const override { return ready_; }
  void window(float* out) const override { state_.window(out); }

 private:
  pipeline::EntityState state_;
  uint64_t samples_ = 0;
  bool ready_ = false;
};

}  // namespace

size_t window_rows(const ScorerInfo& info) {
  int max_scale = info.scales.empty() ? 1 : info.scales.back();
  return static_cast<size_t>(max_scale + (std::max(1, info.history) - 1) * info.step);
}

std::unique_ptr<EntityState> make_entity_state(const ScorerInfo& info) {
  if (info.layout == WindowLayout::kSignatures) {
    const size_t n = info.sensors.size();
    if (!info.normaliser || info.normaliser->size() != n) {
      throw std::invalid_argument("model '" + info.model_id +
                                  "': signature layout needs a normaliser of " + std::to_string(n) +
                                  " sensors");
    }
    return std::make_unique<SignatureEntityState>(info);
  }
  return std::make_unique<RawWindowState>(info);
}

}  // namespace mscred::daemon
