#pragma once
// The seam between the worker and a model: a scorer of batched windows.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mscred/pipeline/normaliser.h"

namespace mscred::daemon {

//! How a model reads its input windows; make_entity_state() builds the matching state.
enum class WindowLayout {
  kRawRows,     // [window_rows, n] raw values, oldest first (the fake scorer)
  kSignatures,  // [history, scales, n, n] signature matrices of normalised values (MSCRED)
};

//! What the worker needs to know about a model. The window layout (window_floats per
//! step) belongs to the EntityState made for this scorer (entity_state.h).
struct ScorerInfo {
  WindowLayout layout = WindowLayout::kRawRows;
  //! Required for kSignatures: the transform the model was trained with.
  std::optional<pipeline::Normaliser> normaliser;
  std::string model_id;
  std::string version;
  std::vector<std::string> sensors;  // model order
  std::vector<int> scales;           // window lengths, in samples
  int step = 10;
  int history = 5;
  std::vector<double> thresholds;  // per scale
  size_t window_floats = 0;        // floats per window passed to score()
};

//! The result for one step of one entity.
struct StepOutcome {
  struct Sensor {
    size_t index = 0;
    int count = 0;
    double mass = 0.0;
  };
  struct Pair {
    size_t i = 0;
    size_t j = 0;
    double residual = 0.0;
  };
  bool detected = false;
  std::string severity;        // short | medium | long when detected
  std::vector<double> scores;  // per scale
  std::vector<Sensor> top_sensors;
  std::vector<Pair> top_pairs;
};

//! A model as the worker uses it. Owned and called by the worker thread only (the thread
//! that owns the model); score() blocks for the inference.
class StepScorer {
 public:
  virtual ~StepScorer() = default;
  virtual const ScorerInfo& info() const = 0;
  //! `windows` holds `batch` windows of info().window_floats each; one outcome per window.
  virtual std::vector<StepOutcome> score(const float* windows, size_t batch) = 0;
  //! The same for windows of entities: `stream_ids[b]` is a stable id of window b's entity
  //! (unchanged while its streaming state lives; a reset entity gets a new one). A model may
  //! reuse work across an entity's consecutive windows (the MSCRED stream cache); results
  //! must equal score()'s. The default ignores the ids.
  virtual std::vector<StepOutcome> score_streams(const float* windows, size_t batch,
                                                 const uint64_t* /*stream_ids*/) {
    return score(windows, batch);
  }
  //! The entity behind `stream_id` was reset or removed: drop what is kept for it.
  virtual void forget_stream(uint64_t /*stream_id*/) {}
  //! Windows that reused / did not reuse cached work, since load (0, 0 without a cache).
  struct CacheCounters {
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  virtual CacheCounters cache_counters() const { return {}; }
  //! True when score_streams() reuses work across an entity's consecutive windows (so its
  //! per-step cost differs from score()'s): the capacity check then times that path.
  //! True only when the per-stream cache is in effect, which implies the network reads >= 2
  //! steps of a window (so history >= 2; measure_capacity relies on it).
  virtual bool stream_cache() const { return false; }
};

struct ModelConfig;
struct Config;

//! Makes the scorer for a configured model: the built-in fake scorer for `fake:` models,
//! else the checkpoint at `path`. Throws std::runtime_error with the reason when it
//! cannot (a bad checkpoint, a device that is not there). Called from the worker thread
//! (initial load and SIGHUP reload).
std::unique_ptr<StepScorer> load_scorer(const ModelConfig& model, const Config& config);

}  // namespace mscred::daemon
