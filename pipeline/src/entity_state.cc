#include "mscred/pipeline/entity_state.h"

#include <algorithm>
#include <utility>

namespace mscred::pipeline {

EntityState::EntityState(Normaliser normaliser, SignatureConfig config)
    : normaliser_(std::move(normaliser)),
      scratch_(normaliser_.size()),
      signature_(normaliser_.size(), std::move(config)),
      window_size_(static_cast<std::size_t>(signature_.config().history) * signature_.step_size()) {
}

bool EntityState::push(double timestamp, const double* raw) {
  if (have_timestamp_ && !(timestamp > last_timestamp_)) ++out_of_order_;
  have_timestamp_ = true;
  last_timestamp_ = timestamp;

  // NaN stays NaN through the normaliser, so SignatureState's missing policy sees it.
  std::copy(raw, raw + scratch_.size(), scratch_.data());
  normaliser_.apply(scratch_.data());
  if (!signature_.push(scratch_.data())) return false;
  last_step_timestamp_ = timestamp;
  if (!signature_.window_valid()) {
    ++steps_skipped_;
    return false;
  }
  return true;
}

void EntityState::reset() {
  signature_.reset();
  have_timestamp_ = false;
  last_timestamp_ = last_step_timestamp_ = 0.0;
  steps_skipped_ = out_of_order_ = 0;
}

}  // namespace mscred::pipeline
