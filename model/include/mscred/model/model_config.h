#pragma once
// Shape of an MSCRED network: everything needed to rebuild the same layer layout, so a
// checkpoint can be checked tensor by tensor against a freshly built module. Torch-free.

#include <cstdint>
#include <string>

namespace mscred::model {

//! What the network is trained to output for a window of h steps (docs/model.md,
//! "Objective"). Either way the output is compared with the window's newest step, so the
//! residual R = (X_newest - Xhat)^2 and everything after it are the same.
//! - kReconstruct (the paper): the network sees all h steps and reconstructs the newest.
//! - kForecast: the network sees steps 0..h-2 only and predicts step h-1, so it cannot
//!   copy an anomaly in the newest step into its output.
enum class Objective { kReconstruct, kForecast };

//! "reconstruct" or "forecast".
const char* to_string(Objective objective);
//! Parses "reconstruct" / "forecast"; throws std::invalid_argument naming the value.
Objective parse_objective(const std::string& text);

//! Architecture parameters. `n` is fixed per network because the encoder paddings and the
//! decoder crops are derived from it (see mscred_net.cc).
struct ModelConfig {
  std::int64_t n = 30;           //!< sensors (signature matrices are n x n)
  std::int64_t scales = 3;       //!< signature windows = input channels
  std::int64_t history = 5;      //!< h: steps per window, fed to the ConvLSTMs in order
  std::int64_t lstm_kernel = 3;  //!< ConvLSTM kernel (2 = TF 'SAME', as in the authors' code)
  double chi = 0.0;              //!< attention temperature; 0 means chi = input_steps()
  double forget_bias = 1.0;      //!< added to the forget gate, as tf.contrib ConvLSTMCell
  Objective objective = Objective::kReconstruct;
};

//! Steps the network reads from a window of `history`: history (reconstruct) or
//! history - 1 (forecast: the oldest h - 1, the newest being the target).
std::int64_t input_steps(const ModelConfig& config);

//! Spatial size of each encoder level for n sensors: n, ceil(n/2), ceil(n/4), ceil(n/8)
//! (applied level by level). Throws std::invalid_argument for n < 4.
struct LevelSizes {
  std::int64_t size[4];
};
LevelSizes level_sizes(std::int64_t n);

//! Throws std::invalid_argument naming the field when a config cannot build a network
//! (forecast needs history >= 2).
void validate(const ModelConfig& config);

}  // namespace mscred::model
