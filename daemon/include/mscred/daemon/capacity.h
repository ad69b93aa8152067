#pragma once
// The capacity check: can a model's measured per-step cost keep up with the declared load?

#include <cstddef>
#include <string>
#include <vector>

#include "mscred/daemon/config.h"
#include "mscred/daemon/scorer.h"

namespace mscred::daemon {

//! Timing of score() on synthetic windows.
struct CapacityMeasurement {
  size_t batch = 0;             //!< windows per score() call (worker.max_batch)
  int reps = 0;                 //!< timed calls (after one untimed warm-up call)
  double median_batch_s = 0.0;  //!< median seconds per call
  double steps_per_s = 0.0;     //!< batch / median_batch_s: what the model can score
  bool streaming = false;       //!< timed score_streams() with every entity's window a hit
};

//! Stream ids the capacity check uses (forgotten afterwards); the worker's are counted from 1.
inline constexpr uint64_t kCapacityStreamIdBase = 0xFFFF'FFFF'0000'0000ULL;

//! Times the path the worker uses, on `batch` synthetic windows (a fixed pattern in [0, 1],
//! the range of normalised signature matrices); the median of `reps` timed calls gives the
//! capacity. Without a stream cache: score() once to warm up, then `reps` times. With one
//! (scorer.stream_cache(), history >= 2): `batch` synthetic entities, each first sends a
//! warm window (computed in full), then every call advances each entity by one step, as in
//! steady state: score_streams() once untimed, then `reps` times timed; the entities'
//! cached steps are forgotten afterwards (the scorer's cache counters include these calls).
//! Works for any StepScorer. Blocks for reps + 2 batches; call from the thread that owns
//! the scorer.
CapacityMeasurement measure_capacity(StepScorer& scorer, size_t batch, int reps = 3);

//! A model's declared load against its measured capacity.
struct CapacityDemand {
  std::string model;  //!< models[].name
  size_t entities = 0;
  double samples_per_s = 0.0;  //!< per entity
  int step = 1;                //!< samples per step of this model
  CapacityMeasurement measured;
  //! entities x samples_per_s / step
  double required_steps_per_s() const;
};

//! The verdict over every checked model (they share the worker thread, so their shares
//! of its time add up). `ok` is false when a model's measured steps/s is below its
//! required steps/s x headroom, or when the shares (required x headroom / measured) sum
//! to more than 1. `message` names each model, measured and required steps/s and what
//! to change; empty when ok.
struct CapacityVerdict {
  bool ok = true;
  double utilisation = 0.0;  //!< sum over models of required x headroom / measured
  std::string message;
};

CapacityVerdict check_capacity(const std::vector<CapacityDemand>& demands, double headroom);

}  // namespace mscred::daemon
