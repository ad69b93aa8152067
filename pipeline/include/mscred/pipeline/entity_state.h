#pragma once
// The streaming state of one entity (one machine, one pump...): normalisation, signature
// matrices and timestamp bookkeeping. `mscred train`, `mscred eval` and the daemon all push
// raw samples through this class, so the windows a model is trained on, evaluated on and
// scored with in production come from the same code.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mscred/pipeline/normaliser.h"
#include "mscred/pipeline/signature.h"

namespace mscred::pipeline {

//! Owns one Normaliser (the one a checkpoint stores) and one SignatureState. Single-threaded:
//! touched by one thread at a time (the daemon hands an entity to one thread). push() does
//! not allocate and never blocks.
class EntityState {
 public:
  //! One sensor per normaliser entry. Throws std::invalid_argument for an empty normaliser or
  //! an invalid signature config.
  EntityState(Normaliser normaliser, SignatureConfig config);

  //! Adds one raw sample (sensors() values, non-finite = missing) observed at `timestamp`
  //! (any monotone unit; a timestamp not after the previous one is accepted and counted in
  //! out_of_order()). Returns true when the sample completed a step AND a full valid window of
  //! `history` steps is available: window() then holds the model input for that step.
  bool push(double timestamp, const double* raw);

  //! The model input for the newest step, [history, scales, n, n] oldest first.
  void window(float* out) const { signature_.window(out); }
  std::size_t window_size() const { return window_size_; }

  std::size_t sensors() const { return normaliser_.size(); }
  const Normaliser& normaliser() const { return normaliser_; }
  //! 0-based index of the sample that completed the newest step, and its timestamp.
  std::uint64_t last_step_row() const { return signature_.last_step_row(); }
  double last_step_timestamp() const { return last_step_timestamp_; }
  //! Samples pushed so far.
  std::uint64_t rows() const { return signature_.counters().samples; }
  //! Steps whose window was not valid (missing data) or not yet full, i.e. push() returned
  //! false although a step was emitted.
  std::uint64_t steps_skipped() const { return steps_skipped_; }
  std::uint64_t out_of_order() const { return out_of_order_; }

  const SignatureState& signature() const { return signature_; }

  //! Forgets all samples (as after construction); keeps the normalisation.
  void reset();

 private:
  Normaliser normaliser_;
  std::vector<double> scratch_;  // normalised sample
  SignatureState signature_;
  std::size_t window_size_;
  double last_timestamp_ = 0.0;
  double last_step_timestamp_ = 0.0;
  bool have_timestamp_ = false;
  std::uint64_t steps_skipped_ = 0;
  std::uint64_t out_of_order_ = 0;
};

}  // namespace mscred::pipeline
