#include "mscred_net.h"

#include <stdexcept>
#include <string>

namespace mscred::model {
namespace F = torch::nn::functional;

namespace {
constexpr std::int64_t kLevelChannels[4] = {32, 64, 128, 256};
}  // namespace

LevelSizes level_sizes(std::int64_t n) {
  if (n < 4) throw std::invalid_argument("model: n must be >= 4, got " + std::to_string(n));
  LevelSizes s{};
  s.size[0] = n;
  for (int l = 1; l < 4; ++l)
    s.size[l] = (s.size[l - 1] + 1) / 2;
  return s;
}

void validate(const ModelConfig& c) {
  level_sizes(c.n);
  if (c.scales < 1) throw std::invalid_argument("model: scales must be >= 1");
  if (c.history < 1) throw std::invalid_argument("model: history must be >= 1");
  if (c.lstm_kernel < 1 || c.lstm_kernel > 7) {
    throw std::invalid_argument("model: lstm_kernel must be in 1..7, got " +
                                std::to_string(c.lstm_kernel));
  }
  if (c.chi < 0.0) throw std::invalid_argument("model: chi must be >= 0 (0 = history)");
}

ConvLstmImpl::ConvLstmImpl(std::int64_t channels, std::int64_t kernel, double forget_bias)
    : channels_(channels), kernel_(kernel), forget_bias_(forget_bias) {
  // Odd kernels pad symmetrically inside the conv; even ones are padded in pad_same().
  const std::int64_t pad = kernel % 2 == 1 ? kernel / 2 : 0;
  conv = register_module(
      "conv",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * channels, 4 * channels, kernel).padding(pad)));
}

torch::Tensor ConvLstmImpl::pad_same(const torch::Tensor& z) const {
  // TF 'SAME' at stride 1 with an even kernel: total pad k-1, the extra one right/bottom.
  if (kernel_ % 2 == 1) return z;
  const std::int64_t total = kernel_ - 1;
  const std::int64_t lo = total / 2;
  const std::int64_t hi = total - lo;
  return F::pad(z, F::PadFuncOptions({lo, hi, lo, hi}));
}

torch::Tensor ConvLstmImpl::forward(const torch::Tensor& seq) {
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
  enc->push_back(torch::nn::Conv2d(Conv(config_.scales, ch[0], 3).stride(1).padding(1)));
  enc->push_back(torch::nn::Conv2d(Conv(ch[0], ch[1], 3).stride(2).padding(1)));
  enc->push_back(torch::nn::Conv2d(Conv(ch[1], ch[2], 2).stride(2).padding(hs[1] % 2)));
  enc->push_back(torch::nn::Conv2d(Conv(ch[2], ch[3], 2).stride(2).padding(hs[2] % 2)));

  lstm = register_module("lstm", torch::nn::ModuleList());
  for (auto c : kLevelChannels) {
    lstm->push_back(ConvLstm(c, config_.lstm_kernel, config_.forget_bias));
  }

  // Decoder: transposed convs without padding; forward() crops each output to the size of
  // the matching encoder level (the adjoint of the encoder's padding).
  using Deconv = torch::nn::ConvTranspose2dOptions;
  dec = register_module("dec", torch::nn::ModuleList());
  dec->push_back(torch::nn::ConvTranspose2d(Deconv(ch[3], ch[2], 2).stride(2)));
  dec->push_back(torch::nn::ConvTranspose2d(Deconv(2 * ch[2], ch[1], 2).stride(2)));
  dec->push_back(torch::nn::ConvTranspose2d(Deconv(2 * ch[1], ch[0], 3).stride(2)));
  dec->push_back(
      torch::nn::ConvTranspose2d(Deconv(2 * ch[0], config_.scales, 3).stride(1).padding(1)));
}

namespace {
// Keeps `size` rows and columns starting at `start` (spatial dims 2 and 3).
torch::Tensor crop(const torch::Tensor& z, std::int64_t start, std::int64_t size) {
  return z.narrow(2, start, size).narrow(3, start, size);
}
}  // namespace

torch::Tensor MscredNetImpl::forward(const torch::Tensor& x, NetTrace* trace) {
  TORCH_CHECK(x.dim() == 5 && x.size(1) == config_.history && x.size(2) == config_.scales &&
                  x.size(3) == config_.n && x.size(4) == config_.n,
              "MSCRED input must be [B, ", config_.history, ", ", config_.scales, ", ", config_.n,
              ", ", config_.n, "], got ", x.sizes());
  const auto b = x.size(0);
  const auto steps = x.size(1);
  const double chi = config_.chi > 0.0 ? config_.chi : static_cast<double>(steps);
  const auto* hs = sizes_.size;

  // Encoder over all steps at once (the convs are shared over time), then per level a
  // ConvLSTM over the h steps in order and attention over its outputs.
  auto z = x.reshape({b * steps, config_.scales, config_.n, config_.n});
  std::vector<torch::Tensor> refined;
  for (std::size_t l = 0; l < 4; ++l) {
    z = torch::selu(enc[l]->as<torch::nn::Conv2d>()->forward(z));
    auto seq = z.view({b, steps, z.size(1), z.size(2), z.size(3)});
    auto states = lstm[l]->as<ConvLstm>()->forward(seq);
    torch::Tensor alpha;
    refined.push_back(temporal_attention(states, chi, &alpha));
    if (trace != nullptr) {
      trace->encoded.push_back(seq);
      trace->lstm.push_back(states);
      trace->attention.push_back(alpha);
      trace->refined.push_back(refined.back());
    }
  }

  auto deconv = [&](std::size_t l, const torch::Tensor& in) {
    return dec[l]->as<torch::nn::ConvTranspose2d>()->forward(in);
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
