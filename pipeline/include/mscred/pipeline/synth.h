#pragma once
// The synthetic data of the MSCRED paper (Zhang et al., AAAI 2019, section 4.1), with
// everything the paper leaves open decided and documented in docs/pipeline.md:
//
// - series i: x_i(t) = sin((t - t0_i) / omega_i) + lambda * eps_i(t), or the cos form
//   (chosen with probability 1/2), t0 uniform in [50, 100], omega uniform in [40, 50],
//   eps standard normal, lambda = 0.3;
// - `anomalies` shock waves in the test period (after its first `lead_in` rows), one per
//   equal slot, each on `series_per_anomaly` random series, durations (in samples)
//   cycling through `durations` in a random order;
// - a shock wave (kOscillation) replaces the deterministic part of each affected series
//   by a square wave at the sampling rate, +1, -1, +1, ... (the same phase on all of them;
//   the noise stays), so values stay within the normal range [-1, 1] + noise and
//   detection must come from broken correlations, not magnitude. kFlip negates the
//   deterministic part instead.
// - split: train [0, train_end), validation [train_end, valid_end), test [valid_end,
//   length). Files: train.csv holds train + validation rows, test.csv the test rows.
//
// Deterministic for a seed on any platform: std::mt19937_64 with distributions written
// here (std:: distributions differ between standard libraries). Parameters, the noise of
// each series, and the anomalies draw from separate streams, so changing the number or
// durations of anomalies does not change the clean data.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "mscred/pipeline/labels.h"

namespace mscred::pipeline {

enum class ShockKind { kOscillation, kFlip };

struct SynthConfig {
  std::uint64_t seed = 1;
  std::size_t series = 30;
  std::size_t length = 20000;
  std::size_t train_end = 8000;
  std::size_t valid_end = 10000;
  double lambda = 0.3;
  std::size_t anomalies = 5;
  std::vector<std::size_t> durations{10, 30, 90};  //!< samples
  std::size_t series_per_anomaly = 3;
  ShockKind shock = ShockKind::kOscillation;
  //! Rows at the start of the test period kept free of anomalies: 100 = the rows before
  //! the first full model window under the default signature config (60 + 4 * 10), so a
  //! detector reading test.csv alone can see every anomaly from its first row.
  std::size_t lead_in = 100;
};

//! Throws std::invalid_argument when the config cannot be generated.
void validate(const SynthConfig& config);

struct SynthSeries {
  bool cosine = false;
  double t0 = 0.0;
  double omega = 1.0;
};

struct SynthData {
  SynthConfig config;
  std::vector<std::string> names;   //!< s1 .. sN
  std::vector<SynthSeries> params;  //!< per series
  std::vector<double> values;       //!< length x series, row-major, with anomalies
  std::vector<double> clean;        //!< the same series without anomalies
  std::vector<Segment> anomalies;   //!< absolute rows, causes = affected series (0-based)

  std::size_t rows() const { return config.length; }
  std::size_t cols() const { return config.series; }
  //! The deterministic part sin((t - t0) / omega) (or cos) of series i at row t.
  double base(std::size_t i, std::size_t t) const;
  //! Labels of the test part, rows relative to valid_end (i.e. to test.csv).
  Labels test_labels() const;
};

SynthData generate_synth(const SynthConfig& config);

//! Writes train.csv, test.csv, test_label.txt, interpretation_label.txt and synth.txt
//! (the parameters) into dir, creating it. Returns the paths written.
std::vector<std::string> write_synth(const SynthData& data, const std::string& dir);

//! The random number code, exposed for tests.
namespace synth_random {
std::uint64_t splitmix64(std::uint64_t x);
//! Uniform in [0, 1) with 53 random bits.
double uniform01(std::mt19937_64& rng);
//! Uniform integer in [0, m), m > 0, unbiased (rejection).
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t m);
//! Standard normal by Marsaglia's polar method (uses log and sqrt only).
class Normal {
 public:
  double operator()(std::mt19937_64& rng);

 private:
  bool has_spare_ = false;
  double spare_ = 0.0;
};
}  // namespace synth_random

}  // namespace mscred::pipeline
