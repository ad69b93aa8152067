#include "mscred_net.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace mscred::model {
namespace F = torch::nn::functional;

namespace {
constexpr std::int64_t kLevelChannels[4] = {32, 64, 128, 256};
}  // namespace

torch::Tensor conv2d(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     std::int64_t stride, std::int64_t pad, bool mkldnn) {
  if (mkldnn && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && at::hasMKLDNN()) {
    return at::mkldnn_convolution(x.contiguous(), w.contiguous(), b, {pad, pad}, {stride, stride},
                                  {1, 1}, 1);
  }
  return torch::conv2d(x, w, b, stride, pad);
}

torch::Tensor conv_transpose2d(const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, std::int64_t stride, std::int64_t pad,
                               bool mkldnn) {
  if (!(mkldnn && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && at::hasMKLDNN())) {
    return torch::conv_transpose2d(x, w, b, stride, pad);
  }
  // As a stride-1 conv: insert stride-1 zeros between inputs, pad by k-1-p on every side,
  // convolve with the kernel flipped and its in/out channels swapped. Same sums (the
  // zeros add stride^2 times the MACs, a small part of this model's decoder).
  const auto k = w.size(2);
  auto up = x;
  if (stride > 1) {
    up = torch::zeros(
        {x.size(0), x.size(1), (x.size(2) - 1) * stride + 1, (x.size(3) - 1) * stride + 1},
        x.options());
    up.slice(2, 0, up.size(2), stride).slice(3, 0, up.size(3), stride).copy_(x);
  }
  const auto edge = k - 1 - pad;
  up = F::pad(up, F::PadFuncOptions({edge, edge, edge, edge}));
  auto wt = w.transpose(0, 1).flip({2, 3}).contiguous();
  return at::mkldnn_convolution(up.contiguous(), wt, b, {0, 0}, {1, 1}, {1, 1}, 1);
}

LevelSizes level_sizes(std::int64_t n) {
  if (n < 4) throw std::invalid_argument("model: n must be >= 4, got " + std::to_string(n));
  LevelSizes s{};
  s.size[0] = n;
  for (int l = 1; l < 4; ++l)
    s.size[l] = (s.size[l - 1] + 1) / 2;
  return s;
}

const char* to_string(Objective objective) {
  return objective == Objective::kForecast ? "forecast" : "reconstruct";
}

Objective parse_objective(const std::string& text) {
  if (text == "reconstruct") return Objective::kReconstruct;
  if (text == "forecast") return Objective::kForecast;
  throw std::invalid_argument("model: objective must be reconstruct or forecast, got '" + text +
                              "'");
}

std::int64_t input_steps(const ModelConfig& config) {
  return config.objective == Objective::kForecast ? config.history - 1 : config.history;
}

void validate(const ModelConfig& c) {
  level_sizes(c.n);
  if (c.scales < 1) throw std::invalid_argument("model: scales must be >= 1");
  if (c.history < 1) throw std::invalid_argument("model: history must be >= 1");
  if (c.objective == Objective::kForecast && c.history < 2) {
    throw std::invalid_argument(
        "model: objective forecast needs history >= 2 (it predicts the newest step from the "
        "ones before it)");
  }
  if (c.lstm_kernel < 1 || c.lstm_kernel > 7) {
    throw std::invalid_argument("model: lstm_kernel must be in 1..7, got " +
                                std::to_string(c.lstm_kernel));
  }
  if (c.chi < 0.0) throw std::invalid_argument("model: chi must be >= 0 (0 = input steps)");
}

ConvLstmImpl::ConvLstmImpl(std::int64_t channels, std::int64_t kernel, double forget_bias)
    : channels_(channels),
      kernel_(kernel),
      pad_(kernel % 2 == 1 ? kernel / 2 : 0),
      forget_bias_(forget_bias) {
  // Odd kernels pad symmetrically inside the conv; even ones are padded in pad_same().
  conv = register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(2 * channels, 4 * channels, kernel).padding(pad_)));
}

torch::Tensor ConvLstmImpl::pad_same(const torch::Tensor& z) const {
  // TF 'SAME' at stride 1 with an even kernel: total pad k-1, the extra one right/bottom.
  if (kernel_ % 2 == 1) return z;
  const std::int64_t total = kernel_ - 1;
  const std::int64_t lo = total / 2;
  const std::int64_t hi = total - lo;
  return F::pad(z, F::PadFuncOptions({lo, hi, lo, hi}));
}

std::pair<torch::Tensor, torch::Tensor> ConvLstmImpl::split_weights() {
  const auto& w = conv->weight;
  if (torch::GradMode::is_enabled()) {
    return {w.narrow(1, 0, channels_), w.narrow(1, channels_, channels_)};
  }
  if (cache_version_ != static_cast<std::int64_t>(w._version()) || cache_ptr_ != w.data_ptr() ||
      !wx_cache_.defined() || wx_cache_.device() != w.device()) {
    wx_cache_ = w.narrow(1, 0, channels_).contiguous();
    wh_cache_ = w.narrow(1, channels_, channels_).contiguous();
    cache_version_ = static_cast<std::int64_t>(w._version());
    cache_ptr_ = w.data_ptr();
  }
  return {wx_cache_, wh_cache_};
}

torch::Tensor ConvLstmImpl::input_gates(const torch::Tensor& x) {
  auto [wx, wh] = split_weights();
  return conv2d(pad_same(x), wx, conv->bias, 1, pad_, mkldnn_);
}

torch::Tensor ConvLstmImpl::recur(const torch::Tensor& gx) {
  const auto steps = gx.size(1);
  auto [wx, wh] = split_weights();
  if (!torch::GradMode::is_enabled()) return recur_inference(gx, wh);
  torch::Tensor h;
  torch::Tensor c;
  std::vector<torch::Tensor> outs;
  outs.reserve(static_cast<std::size_t>(steps));
  // unbind, not select(1, t): the backward of a select is a zero-filled gradient of the whole
  // [B, T, 4C, H, W] input per step, summed over the steps (a fill and an add of the full
  // tensor T times, 20 % of a batch-32 training step); unbind's backward stacks the T step
  // gradients once.
  const auto gxs = gx.unbind(1);
  for (std::int64_t t = 0; t < steps; ++t) {
    auto gates = gxs[static_cast<std::size_t>(t)];
    if (t > 0) gates = gates + conv2d(pad_same(h), wh, {}, 1, pad_, mkldnn_);
    auto g = gates.chunk(4, 1);  // i, j, f, o
    auto input = torch::sigmoid(g[0]) * torch::tanh(g[1]);
    // Step 1 starts from c = 0, so its forget term vanishes.
    c = t == 0 ? input : torch::sigmoid(g[2] + forget_bias_) * c + input;
    h = torch::sigmoid(g[3]) * torch::tanh(c);
    outs.push_back(h);
  }
  return torch::stack(outs, 1);
}

torch::Tensor ConvLstmImpl::recur_inference(const torch::Tensor& gx, const torch::Tensor& wh) {
  // The same arithmetic as recur() without autograd: the gate math runs in place on each
  // step's conv output (no temporaries), and the hidden states are written straight into
  // one [T, B, C, H, W] buffer (returned as its [B, T] view), so nothing is stacked. gx is
  // only read.
  const auto b = gx.size(0);
  const auto steps = gx.size(1);
  auto out = torch::empty({steps, b, channels_, gx.size(3), gx.size(4)}, gx.options());
  torch::Tensor c;
  for (std::int64_t t = 0; t < steps; ++t) {
    torch::Tensor z;
    if (t == 0) {
      z = gx.select(1, 0).clone(at::MemoryFormat::Contiguous);
    } else {
      z = conv2d(pad_same(out[t - 1]), wh, {}, 1, pad_, mkldnn_);
      z.add_(gx.select(1, t));
    }
    auto g = z.chunk(4, 1);  // i, j, f, o
    g[0].sigmoid_();
    g[1].tanh_();
    g[3].sigmoid_();
    if (t == 0) {
      c = g[0].mul_(g[1]);  // c = i * j (c starts at 0); a view into this step's z
    } else {
      g[2].add_(forget_bias_).sigmoid_();
      c.mul_(g[2]).addcmul_(g[0], g[1]);
    }
    auto h = out[t];
    at::tanh_out(h, c);
    h.mul_(g[3]);
  }
  return out.transpose(0, 1);
}

torch::Tensor ConvLstmImpl::forward(const torch::Tensor& seq) {
  const auto b = seq.size(0);
  const auto steps = seq.size(1);
  auto gx = input_gates(seq.flatten(0, 1));
  return recur(gx.view({b, steps, gx.size(1), gx.size(2), gx.size(3)}));
}

torch::Tensor ConvLstmImpl::forward_fused(const torch::Tensor& seq) {
  const auto b = seq.size(0);
  const auto steps = seq.size(1);
  auto h = torch::zeros({b, channels_, seq.size(3), seq.size(4)}, seq.options());
  auto c = torch::zeros_like(h);
  std::vector<torch::Tensor> outs;
  outs.reserve(static_cast<std::size_t>(steps));
  for (std::int64_t t = 0; t < steps; ++t) {
    auto gates = conv->forward(pad_same(torch::cat({seq.select(1, t), h}, 1)));
    auto g = gates.chunk(4, 1);  // i, j, f, o
    c = torch::sigmoid(g[2] + forget_bias_) * c + torch::sigmoid(g[0]) * torch::tanh(g[1]);
    h = torch::sigmoid(g[3]) * torch::tanh(c);
    outs.push_back(h);
  }
  return torch::stack(outs, 1);
}

torch::Tensor temporal_attention(const torch::Tensor& hs, double chi, torch::Tensor* alpha) {
  const auto steps = hs.size(1);
  auto newest = hs.narrow(1, steps - 1, 1);
  auto scores = (hs * newest).flatten(2).sum(-1) / chi;  // [B, T]
  auto a = torch::softmax(scores, 1);
  if (alpha != nullptr) *alpha = a;
  return (a.view({a.size(0), steps, 1, 1, 1}) * hs).sum(1);
}

torch::Tensor reconstruction_loss(const torch::Tensor& reconstruction, const torch::Tensor& x) {
  auto newest = x.select(1, x.size(1) - 1);
  return F::mse_loss(reconstruction, newest);
}

MscredNetImpl::MscredNetImpl(const ModelConfig& config) : config_(config) {
  validate(config_);
  sizes_ = level_sizes(config_.n);
  const auto* ch = kLevelChannels;
  const auto* hs = sizes_.size;

  // Encoder. conv1/conv2 use the reference's p=1 (conv2 gives ceil(n/2) for any n). The two
  // 2x2 stride-2 convs pad by 1 only when their input is odd: that gives ceil(in/2), and
  // for n = 6 (mod 8) it is exactly the reference (p=1 on the odd 15, p=0 on the even 8).
  using Conv = torch::nn::Conv2dOptions;
  enc = register_module("enc", torch::nn::ModuleList());
  const std::int64_t enc_in[4] = {config_.scales, ch[0], ch[1], ch[2]};
  const std::int64_t enc_k[4] = {3, 3, 2, 2};
  const std::int64_t enc_s[4] = {1, 2, 2, 2};
  const std::int64_t enc_p[4] = {1, 1, hs[1] % 2, hs[2] % 2};
  for (std::size_t l = 0; l < 4; ++l) {
    enc_stride_[l] = enc_s[l];
    enc_pad_[l] = enc_p[l];
    enc->push_back(
        torch::nn::Conv2d(Conv(enc_in[l], ch[l], enc_k[l]).stride(enc_s[l]).padding(enc_p[l])));
  }

  lstm = register_module("lstm", torch::nn::ModuleList());
  for (auto c : kLevelChannels) {
    lstm->push_back(ConvLstm(c, config_.lstm_kernel, config_.forget_bias));
  }

  // Decoder: transposed convs without padding; forward() crops each output to the size of
  // the matching encoder level (the adjoint of the encoder's padding).
  using Deconv = torch::nn::ConvTranspose2dOptions;
  dec = register_module("dec", torch::nn::ModuleList());
  const std::int64_t dec_in[4] = {ch[3], 2 * ch[2], 2 * ch[1], 2 * ch[0]};
  const std::int64_t dec_out[4] = {ch[2], ch[1], ch[0], config_.scales};
  const std::int64_t dec_k[4] = {2, 2, 3, 3};
  const std::int64_t dec_s[4] = {2, 2, 2, 1};
  const std::int64_t dec_p[4] = {0, 0, 0, 1};
  for (std::size_t l = 0; l < 4; ++l) {
    dec_stride_[l] = dec_s[l];
    dec_pad_[l] = dec_p[l];
    dec->push_back(torch::nn::ConvTranspose2d(
        Deconv(dec_in[l], dec_out[l], dec_k[l]).stride(dec_s[l]).padding(dec_p[l])));
  }
}

namespace {
// Keeps `size` rows and columns starting at `start` (spatial dims 2 and 3).
torch::Tensor crop(const torch::Tensor& z, std::int64_t start, std::int64_t size) {
  return z.narrow(2, start, size).narrow(3, start, size);
}
}  // namespace

torch::Tensor MscredNetImpl::forward(const torch::Tensor& x, NetTrace* trace) {
  return forward_impl(x, trace, false);
}

torch::Tensor MscredNetImpl::forward_fused(const torch::Tensor& x) {
  return forward_impl(x, nullptr, true);
}

torch::Tensor MscredNetImpl::forward_impl(const torch::Tensor& x, NetTrace* trace, bool fused) {
  TORCH_CHECK(x.dim() == 5 && x.size(1) == config_.history && x.size(2) == config_.scales &&
                  x.size(3) == config_.n && x.size(4) == config_.n,
              "MSCRED input must be [B, ", config_.history, ", ", config_.scales, ", ", config_.n,
              ", ", config_.n, "], got ", x.sizes());
  // Forecast: the network reads steps 0..h-2 only; step h-1 is the target (loss, residual).
  const auto steps = input_steps();
  const auto input = steps == config_.history ? x : x.narrow(1, 0, steps);
  const auto b = x.size(0);
  const double chi = attention_chi();

  // Encoder over all steps at once (the convs are shared over time), then per level a
  // ConvLSTM over the h steps in order and attention over its outputs.
  auto z = input.reshape({b * steps, config_.scales, config_.n, config_.n});
  std::vector<torch::Tensor> refined;
  for (std::size_t l = 0; l < 4; ++l) {
    z = torch::selu(encode(l, z));
    auto seq = z.view({b, steps, z.size(1), z.size(2), z.size(3)});
    auto* cell = lstm[l]->as<ConvLstm>();
    auto states = fused ? cell->forward_fused(seq) : cell->forward(seq);
    torch::Tensor alpha;
    refined.push_back(temporal_attention(states, chi, &alpha));
    if (trace != nullptr) {
      trace->encoded.push_back(seq);
      trace->lstm.push_back(states);
      trace->attention.push_back(alpha);
      trace->refined.push_back(refined.back());
    }
  }
  return decode(refined, trace);
}

torch::Tensor MscredNetImpl::encode(std::size_t level, const torch::Tensor& z) {
  auto* m = enc[level]->as<torch::nn::Conv2d>();
  return conv2d(z, m->weight, m->bias, enc_stride_[level], enc_pad_[level], mkldnn_);
}

void MscredNetImpl::set_mkldnn(bool on) {
  mkldnn_ = on && at::hasMKLDNN();
  for (std::size_t l = 0; l < 4; ++l)
    lstm[l]->as<ConvLstm>()->set_mkldnn(mkldnn_);
}

std::vector<torch::Tensor> MscredNetImpl::step_gates(const torch::Tensor& steps) {
  TORCH_CHECK(steps.dim() == 4 && steps.size(1) == config_.scales && steps.size(2) == config_.n &&
                  steps.size(3) == config_.n,
              "MSCRED steps must be [N, ", config_.scales, ", ", config_.n, ", ", config_.n,
              "], got ", steps.sizes());
  std::vector<torch::Tensor> gates;
  auto z = steps;
  for (std::size_t l = 0; l < 4; ++l) {
    z = torch::selu(encode(l, z));
    gates.push_back(lstm[l]->as<ConvLstm>()->input_gates(z));
  }
  return gates;
}

torch::Tensor MscredNetImpl::forward_from_gates(const std::vector<torch::Tensor>& gates) {
  TORCH_CHECK(gates.size() == 4, "forward_from_gates: need 4 levels, got ", gates.size());
  const double chi = attention_chi();
  std::vector<torch::Tensor> refined;
  for (std::size_t l = 0; l < 4; ++l) {
    TORCH_CHECK(gates[l].dim() == 5 && gates[l].size(1) == input_steps(),
                "forward_from_gates: level ", l, " gates must be [B, ", input_steps(),
                ", 4C, H, W], got ", gates[l].sizes());
    refined.push_back(temporal_attention(lstm[l]->as<ConvLstm>()->recur(gates[l]), chi, nullptr));
  }
  return decode(refined, nullptr);
}

torch::Tensor MscredNetImpl::forward_steps(const torch::Tensor& steps, const torch::Tensor& index) {
  TORCH_CHECK(
      index.dim() == 2 && index.size(1) == input_steps() && index.scalar_type() == torch::kInt64,
      "forward_steps: index must be int64 [B, ", input_steps(), "], got ", index.sizes());
  const auto b = index.size(0);
  const auto t = index.size(1);
  auto flat = index.reshape({b * t}).to(steps.device());
  auto unique = step_gates(steps);
  std::vector<torch::Tensor> gates;
  gates.reserve(unique.size());
  for (const auto& g : unique) {
    gates.push_back(g.index_select(0, flat).view({b, t, g.size(1), g.size(2), g.size(3)}));
  }
  return forward_from_gates(gates);
}

SharedSteps share_consecutive_steps(const torch::Tensor& windows, std::int64_t input_steps) {
  TORCH_CHECK(windows.dim() == 5 && windows.is_contiguous() && windows.device().is_cpu() &&
                  windows.scalar_type() == torch::kFloat32,
              "share_consecutive_steps: need contiguous float [B, h, scales, n, n] on the host");
  const auto b = windows.size(0);
  const auto h = windows.size(1);
  const auto t = input_steps;
  TORCH_CHECK(t >= 1 && t <= h, "share_consecutive_steps: input_steps ", t, " not in 1..", h);
  const auto step_floats = static_cast<std::size_t>(windows[0][0].numel());
  const auto window_floats = step_floats * static_cast<std::size_t>(h);
  const float* data = windows.data_ptr<float>();
  SharedSteps out;
  out.index = torch::empty({b, t}, torch::kInt64);
  auto* idx = out.index.data_ptr<std::int64_t>();
  // Source step (window, position) of every distinct step, in order of first use.
  std::vector<const float*> source;
  source.reserve(static_cast<std::size_t>(b * t));
  for (std::int64_t i = 0; i < b; ++i) {
    const float* w = data + static_cast<std::size_t>(i) * window_floats;
    const bool shares =
        i > 0 && t >= 2 &&
        std::memcmp(w, w - window_floats + step_floats,
                    static_cast<std::size_t>(t - 1) * step_floats * sizeof(float)) == 0;
    for (std::int64_t k = 0; k < t; ++k) {
      if (shares && k < t - 1) {
        idx[i * t + k] = idx[(i - 1) * t + k + 1];
      } else {
        idx[i * t + k] = static_cast<std::int64_t>(source.size());
        source.push_back(w + static_cast<std::size_t>(k) * step_floats);
      }
    }
    out.shared_windows += shares ? 1 : 0;
  }
  auto sizes = windows.sizes().vec();
  sizes.erase(sizes.begin());  // [h, scales, n, n] -> [U, scales, n, n]
  sizes[0] = static_cast<std::int64_t>(source.size());
  out.steps = torch::empty(sizes, torch::kFloat32);
  float* dst = out.steps.data_ptr<float>();
  for (std::size_t u = 0; u < source.size(); ++u)
    std::memcpy(dst + u * step_floats, source[u], step_floats * sizeof(float));
  return out;
}

torch::Tensor MscredNetImpl::decode(const std::vector<torch::Tensor>& refined, NetTrace* trace) {
  const auto* hs = sizes_.size;
  auto deconv = [&](std::size_t l, const torch::Tensor& in) {
    auto* m = dec[l]->as<torch::nn::ConvTranspose2d>();
    return conv_transpose2d(in, m->weight, m->bias, dec_stride_[l], dec_pad_[l], mkldnn_);
  };
  // Level 4 -> 3: full output 2*H4; drop the first row/col when H3 is odd.
  auto d = deconv(0, refined[3]);
  d = torch::selu(crop(d, d.size(2) - hs[2], hs[2]));
  if (trace != nullptr) trace->decoded.push_back(d);
  // Level 3 -> 2: full output 2*H3; same rule.
  d = deconv(1, torch::cat({d, refined[2]}, 1));
  d = torch::selu(crop(d, d.size(2) - hs[1], hs[1]));
  if (trace != nullptr) trace->decoded.push_back(d);
  // Level 2 -> 1: full output 2*H2+1; the reference's p=1 drops the first row/col, the
  // last one also goes when n is odd (where 2*H2 = n+1).
  d = deconv(2, torch::cat({d, refined[1]}, 1));
  d = torch::selu(crop(d, 1, hs[0]));
  if (trace != nullptr) trace->decoded.push_back(d);
  d = torch::selu(deconv(3, torch::cat({d, refined[0]}, 1)));
  if (trace != nullptr) trace->decoded.push_back(d);
  return d;
}

}  // namespace mscred::model
