#pragma once
// Multi-scale signature matrices (MSCRED, Zhang et al. 2019), updated incrementally.
//
// For each scale w: M_w[i][j](t) = (1/w) * sum_{d=0}^{w-1} x_i(t-d) * x_j(t-d).
// A step is emitted after the sample with 0-based index t when t+1 >= max(scales) and
// (t+1 - max(scales)) % step == 0; the model input is the stack of the last `history`
// emitted steps, shape [history, scales, n, n], oldest first.
//
// Numerics (docs/pipeline.md, "Signature matrices"): each scale keeps the packed upper
// triangle of its window sum in double. At a step it advances the sum by the samples that
// entered and left the window since the previous step (or recomputes the scale outright
// when that is cheaper, i.e. 2*step >= w), and a rolling slice of rows is recomputed
// exactly from the ring buffer at each step so that every element is rebuilt at least
// once every kRebuildFactor*w samples (rounded up to whole steps). The error therefore
// stays bounded (no drift) no matter how many samples have been pushed.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mscred::pipeline {

//! What to do with a missing value (NaN, +-Inf, or a sensor absent from a record).
//! Under both policies the value used in the sums is the sensor's last finite value (0.0
//! if it has none yet); the policies differ in which steps are marked invalid:
//! - kHoldLast: a step is invalid only if its longest window contains a sample in which
//!   a sensor had no value yet (nothing to hold);
//! - kInvalidStep: a step is invalid if its longest window contains any missing value.
enum class MissingPolicy { kHoldLast, kInvalidStep };

struct SignatureConfig {
  std::vector<int> scales{10, 30, 60};  //!< window lengths in samples, distinct, >= 1
  int step = 10;                        //!< samples between emitted steps, >= 1
  int history = 5;                      //!< steps stacked into one model window, >= 1
  MissingPolicy missing = MissingPolicy::kHoldLast;
};

struct SignatureCounters {
  std::uint64_t samples = 0;         //!< push() calls
  std::uint64_t steps_emitted = 0;   //!< steps emitted (valid or not)
  std::uint64_t steps_invalid = 0;   //!< emitted steps marked invalid
  std::uint64_t values_missing = 0;  //!< non-finite input values
  std::uint64_t values_held = 0;     //!< missing values replaced by the sensor's last value
};

//! Every element of every scale is recomputed exactly at least once per
//! kRebuildFactor * w samples, rounded up to whole steps (w = that scale's window).
inline constexpr int kRebuildFactor = 4;

//! Throws std::invalid_argument when the config is unusable (empty or non-positive or
//! duplicate scales, step < 1, history < 1).
void validate(const SignatureConfig& config);

//! Signature state of one entity. Single-threaded; push() does not allocate.
class SignatureState {
 public:
  //! Throws std::invalid_argument for n_sensors == 0 or an invalid config.
  SignatureState(std::size_t n_sensors, SignatureConfig config);

  //! Adds one sample of sensors() values (non-finite = missing). Returns true when the
  //! sample completed a step; latest(), last_step_row() etc. then describe that step.
  bool push(const double* values);

  //! Forgets all samples and steps (counters too), as after construction.
  void reset();

  std::size_t sensors() const { return n_; }
  const SignatureConfig& config() const { return config_; }
  std::size_t scales() const { return config_.scales.size(); }
  //! Number of elements of one step: scales * n * n.
  std::size_t step_size() const { return step_size_; }

  //! Steps emitted so far.
  std::uint64_t steps() const { return counters_.steps_emitted; }
  //! 0-based sample index of the newest step (meaningless before the first step).
  std::uint64_t last_step_row() const { return last_step_row_; }
  bool last_step_valid() const;

  //! The newest step [scales, n, n] in float32; zeros before the first step.
  const std::vector<float>& latest() const;
  //! The newest step [scales, n, n] in double, computed from the sums on first use after
  //! each step (its buffer is allocated by the first call, never by push()).
  const std::vector<double>& latest_double() const;

  //! True once `history` steps have been emitted.
  bool window_ready() const;
  //! Copies the last `history` steps, oldest first, to out [history, scales, n, n].
  //! Throws std::logic_error unless window_ready().
  void window(float* out) const;
  //! window_ready() and every step in the window is valid.
  bool window_valid() const;

  const SignatureCounters& counters() const { return counters_; }

  //! Bytes held by this state (ring buffer, sums, history), for capacity planning.
  std::size_t memory_bytes() const;

 private:
  void emit(std::uint64_t t);
  //! The sample d steps back from the newest one (d < capacity_).
  const double* back(std::size_t d) const;

  std::size_t n_;
  SignatureConfig config_;
  int max_scale_;
  std::size_t tri_size_;   // n(n+1)/2
  std::size_t step_size_;  // scales * n * n
  std::size_t capacity_;   // ring buffer rows

  std::vector<std::size_t> row_offset_;    // packed upper triangle: row i starts here
  std::vector<double> ring_;               // capacity_ x n
  std::vector<double> last_value_;         // per sensor, for hold-last
  std::vector<std::uint8_t> has_value_;    // per sensor
  std::vector<std::vector<double>> sums_;  // per scale, packed upper triangle
  std::vector<std::uint8_t> incremental_;  // per scale: 2 * step < w
  std::vector<std::size_t> cursor_;        // per scale, next row to rebuild
  std::vector<std::int64_t> credit_;       // per scale, rebuild credit (see emit())
  std::vector<const double*> window_xs_;   // scratch: the last max(scales) samples
  std::vector<double> window_signs_;       // all +1
  std::vector<const double*> delta_xs_;    // scratch: samples that entered / left
  std::vector<double> delta_signs_;        // +1, -1, +1, ...

  std::vector<std::vector<float>> history_;  // history slots of [scales, n, n]
  std::vector<std::uint8_t> history_valid_;
  std::size_t newest_ = 0;  // slot of the newest step
  std::size_t head_ = 0;    // ring slot of the next sample

  mutable std::vector<double> latest_double_;
  mutable bool latest_double_fresh_ = false;

  std::uint64_t next_row_ = 0;  // index of the next sample
  std::uint64_t last_step_row_ = 0;
  bool have_step_ = false;
  // Most recent sample index that makes a step invalid, plus one (0 = none).
  std::uint64_t invalid_until_ = 0;
  SignatureCounters counters_;
};

//! Reference definition for tests and benchmarks: `rows` is row-major [*, n]; writes
//! out [n, n] = (1/w) * sum over rows [end-w, end) of x x^T. Requires end >= w >= 1.
void signature_from_scratch(const double* rows, std::size_t n, std::size_t end, int w, double* out);

namespace detail {
//! Kernel shared by SignatureState and signature_from_scratch: for rows i in
//! [row_begin, row_end) of the packed upper triangle `tri` (row i starts at offset[i]
//! and holds columns i..n-1), tri[i][j] (+)= sum_s sign[s] * xs[s][i] * xs[s][j].
//! With `assign` the rows are overwritten instead of accumulated.
void gram_rows(double* tri, const std::size_t* offset, std::size_t n, std::size_t row_begin,
               std::size_t row_end, const double* const* xs, const double* sign, std::size_t count,
               bool assign);
}  // namespace detail

}  // namespace mscred::pipeline
