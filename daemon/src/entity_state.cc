#include "mscred/daemon/entity_state.h"

#include <algorithm>
#include <vector>

namespace mscred::daemon {

namespace {

// Stand-in until pipeline::EntityState lands: a ring of the newest window_rows() raw
// rows, emitted oldest first as floats [rows, n]. It has the real warm-up length and step
// cadence, so the worker's batching, acknowledgement and alert path are exercised as they
// will be. TODO: replace with pipeline::EntityState (normaliser + SignatureState, windows
// [h, scales, n, n]) when pipeline/ is merged; the fake scorer reads this layout.
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

}  // namespace

size_t window_rows(const ScorerInfo& info) {
  int max_scale = info.scales.empty() ? 1 : info.scales.back();
  return static_cast<size_t>(max_scale + (std::max(1, info.history) - 1) * info.step);
}

std::unique_ptr<EntityState> make_entity_state(const ScorerInfo& info) {
  return std::make_unique<RawWindowState>(info);
}

}  // namespace mscred::daemon
