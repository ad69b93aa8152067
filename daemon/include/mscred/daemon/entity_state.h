#pragma once
// Per-entity streaming state behind a small interface; src/entity_state.cc holds the two
// layouts (raw rows for the fake scorer; normaliser + pipeline::SignatureState for MSCRED).

#include <memory>

#include "mscred/daemon/scorer.h"

namespace mscred::daemon {

//! The streaming state of one entity: it takes rows in model sensor order and says when a
//! step is emitted and a full window is ready. Owned and called by the worker thread only;
//! never blocks.
class EntityState {
 public:
  virtual ~EntityState() = default;
  //! One row of info.sensors.size() raw values. Returns true when this row completes a
  //! step (every `step` rows).
  virtual bool push(const double* row) = 0;
  //! True once enough history was seen for a full model input (the warm-up is over).
  virtual bool window_ready() const = 0;
  //! Writes the newest window (info.window_floats floats).
  virtual void window(float* out) const = 0;
};

//! The state matching `info`'s window layout. Throws std::invalid_argument when a
//! signature layout comes without a normaliser of the model's sensor count.
std::unique_ptr<EntityState> make_entity_state(const ScorerInfo& info);

//! Rows a stand-in window holds: the largest scale plus (history - 1) steps, which is
//! also how many samples the signature pipeline needs before its first full window.
size_t window_rows(const ScorerInfo& info);

}  // namespace mscred::daemon
