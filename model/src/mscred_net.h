#pragma once
// The MSCRED network (Zhang et al., AAAI 2019) as a LibTorch module. Private to model/:
// only model/src and the model tests include it, because it pulls in <torch/torch.h>.
//
// Parameter names match /work/shared/bench/mscred_ref.py (enc.L.weight, lstm.L.conv.weight,
// dec.L.weight, ...) so weights can be exchanged with the Python reference.

#include <torch/torch.h>

#include <vector>

#include "mscred/model/model_config.h"

namespace mscred::model {

//! One ConvLSTM layer. A single convolution over cat[x_t, h_{t-1}] gives the four gates
//! in the order (i, j, f, o) of tf.contrib.rnn.ConvLSTMCell; no peepholes. Owned by the
//! network; called from whichever thread runs the network's forward.
class ConvLstmImpl : public torch::nn::Module {
 public:
  ConvLstmImpl(std::int64_t channels, std::int64_t kernel, double forget_bias);

  //! seq [B, T, C, H, W] -> hidden states [B, T, C, H, W], run over t = 0..T-1 in order
  //! from a zero state (a real recurrence: step t sees the state left by step t-1).
  torch::Tensor forward(const torch::Tensor& seq);

  torch::nn::Conv2d conv{nullptr};

 private:
  torch::Tensor pad_same(const torch::Tensor& z) const;

  std::int64_t channels_;
  std::int64_t kernel_;
  double forget_bias_;
};
TORCH_MODULE(ConvLstm);

//! Intermediate tensors of one forward pass, for tests and diagnostics.
struct NetTrace {
  std::vector<torch::Tensor> encoded;    //!< per level, [B, T, C_l, H_l, H_l]
  std::vector<torch::Tensor> lstm;       //!< per level, [B, T, C_l, H_l, H_l]
  std::vector<torch::Tensor> attention;  //!< per level, [B, T] (rows sum to 1)
  std::vector<torch::Tensor> refined;    //!< per level, [B, C_l, H_l, H_l]
  std::vector<torch::Tensor> decoded;    //!< after each decoder layer (deepest first)
};

//! Encoder (4 convs) -> one ConvLSTM + temporal attention per level -> decoder of
//! transposed convs with skip concatenation. Built for one n: encoder paddings and decoder
//! crops are derived from n so that the output is exactly n x n for any n >= 4, and equal
//! the reference's fixed paddings when n = 6 (mod 8). Not thread-safe; one caller at a time.
class MscredNetImpl : public torch::nn::Module {
 public:
  explicit MscredNetImpl(const ModelConfig& config);

  //! x [B, h, scales, n, n] (oldest step first) -> reconstruction of the newest step
  //! [B, scales, n, n]. Fills `trace` when it is not null.
  torch::Tensor forward(const torch::Tensor& x, NetTrace* trace = nullptr);

  const ModelConfig& config() const { return config_; }

  torch::nn::ModuleList enc{nullptr};
  torch::nn::ModuleList lstm{nullptr};
  torch::nn::ModuleList dec{nullptr};

 private:
  ModelConfig config_;
  LevelSizes sizes_;
};
TORCH_MODULE(MscredNet);

//! Temporal attention: alpha_k = softmax_k(sum(H_k * H_T) / chi), refined = sum_k alpha_k H_k.
//! hs [B, T, C, H, W] -> refined [B, C, H, W]; `alpha` receives [B, T] when not null.
torch::Tensor temporal_attention(const torch::Tensor& hs, double chi, torch::Tensor* alpha);

//! Loss used in training: squared error of the newest step's reconstruction, averaged.
torch::Tensor reconstruction_loss(const torch::Tensor& reconstruction, const torch::Tensor& x);

}  // namespace mscred::model
