#pragma once
// Shape of an MSCRED network: everything needed to rebuild the same layer layout, so a
// checkpoint can be checked tensor by tensor against a freshly built module. Torch-free.

#include <cstdint>
#include <string>

namespace mscred::model {

//! Architecture parameters. `n` is fixed per network because the encoder paddings and the
//! decoder crops are derived from it (see mscred_net.cc).
struct ModelConfig {
  std::int64_t n = 30;           //!< sensors (signature matrices are n x n)
  std::int64_t scales = 3;       //!< signature windows = input channels
  std::int64_t history = 5;      //!< h: steps per window, fed to the ConvLSTMs in order
  std::int64_t lstm_kernel = 3;  //!< ConvLSTM kernel (2 = TF 'SAME', as in the authors' code)
  double chi = 0.0;              //!< attention temperature; 0 means chi = history
  double forget_bias = 1.0;      //!< added to the forget gate, as tf.contrib ConvLSTMCell
};

//! Spatial size of each encoder level for n sensors: n, ceil(n/2), ceil(n/4), ceil(n/8)
//! (applied level by level). Throws std::invalid_argument for n < 4.
struct LevelSizes {
  std::int64_t size[4];
};
LevelSizes level_sizes(std::int64_t n);

//! Throws std::invalid_argument naming the field when a config cannot build a network.
void validate(const ModelConfig& config);

}  // namespace mscred::model
