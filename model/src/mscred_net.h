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
//!
//! The fused weight [4C, 2C, k, k] is one parameter (`conv`, the checkpoint's name), but
//! the computation is split: W_x = weight[:, :C] (with the bias) acts on the input, W_h =
//! weight[:, C:] on the hidden state. The input-to-state part of all steps is one conv
//! (input_gates), and step 1 skips W_h because it starts from h = 0 (recur). This is the
//! same sum as the fused conv (padding is per channel, so it splits too), in another order.
class ConvLstmImpl : public torch::nn::Module {
 public:
  ConvLstmImpl(std::int64_t channels, std::int64_t kernel, double forget_bias);

  //! seq [B, T, C, H, W] -> hidden states [B, T, C, H, W], run over t = 0..T-1 in order
  //! from a zero state (a real recurrence: step t sees the state left by step t-1).
  //! Split form: recur(input_gates(all steps)).
  torch::Tensor forward(const torch::Tensor& seq);
  //! The same with one fused conv over cat[x_t, h_{t-1}] per step: the textbook form, kept
  //! as the reference the split and streaming paths are tested against.
  torch::Tensor forward_fused(const torch::Tensor& seq);

  //! x [N, C, H, W] (any number of steps) -> W_x * x + b, [N, 4C, H, W].
  torch::Tensor input_gates(const torch::Tensor& x);
  //! gx [B, T, 4C, H, W] input-to-state gates of T consecutive steps -> hidden states
  //! [B, T, C, H, W] from a zero state.
  torch::Tensor recur(const torch::Tensor& gx);

  std::int64_t channels() const { return channels_; }
  //! Convolutions through oneDNN (at::mkldnn_convolution) instead of ATen's choice.
  void set_mkldnn(bool on) { mkldnn_ = on; }

  torch::nn::Conv2d conv{nullptr};

 private:
  torch::Tensor pad_same(const torch::Tensor& z) const;
  //! recur() without grad: in-place gate math, states written into one buffer.
  torch::Tensor recur_inference(const torch::Tensor& gx, const torch::Tensor& wh);
  //! W_x and W_h as contiguous tensors. In inference (no grad) they are copied once and
  //! reused until the weight changes (its version counter); with grad they are views, so
  //! gradients reach `conv.weight`.
  std::pair<torch::Tensor, torch::Tensor> split_weights();

  std::int64_t channels_;
  std::int64_t kernel_;
  std::int64_t pad_;
  double forget_bias_;
  torch::Tensor wx_cache_;
  torch::Tensor wh_cache_;
  std::int64_t cache_version_ = -1;
  const void* cache_ptr_ = nullptr;
  bool mkldnn_ = false;
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

  //! x [B, h, scales, n, n] (oldest step first) -> the network's output for the newest step
  //! [B, scales, n, n]: reconstructed from all h steps, or (forecast) predicted from
  //! x[:, :h-1] alone (the newest step is not read). Fills `trace` when it is not null
  //! (its per-step tensors then have input_steps() steps).
  torch::Tensor forward(const torch::Tensor& x, NetTrace* trace = nullptr);
  //! The same network with the fused ConvLSTM cell (ConvLstm::forward_fused): the
  //! reference for tests of the split and streaming computations.
  torch::Tensor forward_fused(const torch::Tensor& x);

  //! Streaming building blocks. steps [N, scales, n, n] (any steps of any windows) -> per
  //! level the ConvLSTM input-to-state gates W_x * enc_l(x) + b, [N, 4C_l, H_l, H_l].
  std::vector<torch::Tensor> step_gates(const torch::Tensor& steps);
  //! Per level the gates of the input_steps() consecutive input steps of each window
  //! [B, T, 4C_l, H_l, H_l] (T = h, or h - 1 for forecast: steps 0..h-2) -> the output for
  //! the window's newest step [B, scales, n, n] (recurrence, attention, decoder).
  torch::Tensor forward_from_gates(const std::vector<torch::Tensor>& gates);

  //! Shared-step forward: steps [U, scales, n, n] (distinct steps), index [B, T] (int64,
  //! T = input_steps()) naming window b's step t -> reconstruction [B, scales, n, n]. The
  //! encoder and W_x run once per distinct step; their outputs are gathered with
  //! index_select, so with grad the gradients of a step shared by several windows add up.
  //! Equal to forward() on the gathered windows within float tolerance.
  torch::Tensor forward_steps(const torch::Tensor& steps, const torch::Tensor& index);

  const ModelConfig& config() const { return config_; }
  //! Steps of a window the network reads: history (reconstruct) or history - 1 (forecast).
  //! The one place that knows the objective's effect on the input (mscred::model::input_steps).
  std::int64_t input_steps() const { return model::input_steps(config_); }
  //! Attention temperature in use: config chi, or input_steps() when chi = 0.
  double attention_chi() const {
    return config_.chi > 0.0 ? config_.chi : static_cast<double>(input_steps());
  }
  //! Every convolution (encoder, ConvLSTM, decoder as a conv over zero-inserted input)
  //! through oneDNN when on; ATen's own choice (im2col + BLAS for small batch-1 inputs and
  //! all transposed convs, oneDNN otherwise) when off. Same function either way (tested).
  void set_mkldnn(bool on);
  bool mkldnn() const { return mkldnn_; }

  torch::nn::ModuleList enc{nullptr};
  torch::nn::ModuleList lstm{nullptr};
  torch::nn::ModuleList dec{nullptr};

 private:
  torch::Tensor decode(const std::vector<torch::Tensor>& refined, NetTrace* trace);
  torch::Tensor encode(std::size_t level, const torch::Tensor& z);
  torch::Tensor forward_impl(const torch::Tensor& x, NetTrace* trace, bool fused);

  ModelConfig config_;
  LevelSizes sizes_;
  bool mkldnn_ = false;
  std::int64_t enc_stride_[4] = {};
  std::int64_t enc_pad_[4] = {};
  std::int64_t dec_stride_[4] = {};
  std::int64_t dec_pad_[4] = {};
};
TORCH_MODULE(MscredNet);

//! The distinct steps of B windows [B, h, scales, n, n] (host, contiguous float) that may be
//! consecutive windows of one stream: window b reuses window b-1's input steps 1..T-1 as its
//! steps 0..T-2 when their bytes are identical (memcmp, never assumed), otherwise all its T
//! = `input_steps` steps are new. steps [U, scales, n, n] (a copy), index [B, T] into it.
struct SharedSteps {
  torch::Tensor steps;
  torch::Tensor index;
  std::int64_t shared_windows = 0;  //!< windows that reused their predecessor's steps
};
SharedSteps share_consecutive_steps(const torch::Tensor& windows, std::int64_t input_steps);

//! Temporal attention: alpha_k = softmax_k(sum(H_k * H_T) / chi), refined = sum_k alpha_k H_k.
//! hs [B, T, C, H, W] -> refined [B, C, H, W]; `alpha` receives [B, T] when not null.
torch::Tensor temporal_attention(const torch::Tensor& hs, double chi, torch::Tensor* alpha);

//! Convolutions with a switch to oneDNN (see MscredNetImpl::set_mkldnn). Square kernels,
//! equal stride and padding in both dimensions.
torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     std::int64_t stride, std::int64_t pad, bool mkldnn);
torch::Tensor conv_transpose2d(const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, std::int64_t stride, std::int64_t pad,
                               bool mkldnn);

//! Loss used in training: squared error of the output against the window's newest step
//! x[:, h-1], averaged (the same for both objectives).
torch::Tensor reconstruction_loss(const torch::Tensor& reconstruction, const torch::Tensor& x);

}  // namespace mscred::model
