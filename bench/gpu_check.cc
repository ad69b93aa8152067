// GPU check (bench/gpu_check.sh): windows/s of the MSCRED forward at n = 38 on cuda:N for
// batch 1, 32, 256 and 1024 (plain and streaming), and GPU outputs against CPU outputs of
// the same weights and windows. Random weights (seed 0); uniform [0, 1) windows. On a
// machine or LibTorch without CUDA it says so and exits 2.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "mscred_net.h"
#include "stream_engine.h"

namespace {
using Clock = std::chrono::steady_clock;
using mscred::model::ModelConfig;
using mscred::model::MscredNet;
using mscred::model::StreamEngine;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const std::string device_name = argc > 1 ? argv[1] : "cuda:0";
  const int reps = argc > 2 ? std::atoi(argv[2]) : 10;
  if (!torch::cuda::is_available()) {
    std::printf(
        "gpu_check: CUDA is not available (this LibTorch build or this machine has no "
        "CUDA device); nothing measured\n");
    return 2;
  }
  const torch::Device dev(device_name);
  const std::int64_t n = 38;
  ModelConfig c;
  c.n = n;
  torch::manual_seed(0);
  MscredNet cpu_net(c);
  cpu_net->eval();
  MscredNet gpu_net(c);
  {
    torch::NoGradGuard no_grad;
    auto src = cpu_net->named_parameters();
    for (auto& p : gpu_net->named_parameters())
      p.value().copy_(src[p.key()]);
  }
  gpu_net->to(dev);
  gpu_net->eval();
  torch::NoGradGuard no_grad;
  std::printf("device %s (%s), n = %lld, reps %d\n", device_name.c_str(),
              torch::cuda::device_count() > 0 ? "CUDA" : "?", static_cast<long long>(n), reps);

  // Equality: 8 windows, CPU vs GPU plain and GPU streaming.
  int failures = 0;
  {
    auto x = torch::rand({8, 5, 3, n, n});
    auto y_cpu = cpu_net->forward(x);
    auto y_gpu = gpu_net->forward(x.to(dev)).to(torch::kCPU);
    const double d = (y_cpu - y_gpu).abs().max().item<double>();
    // TF32 convolutions on Ampere and later round inputs to 10-bit mantissas.
    const double tol = 5e-3;
    std::printf("check plain forward GPU vs CPU: max |diff| = %.3g (tolerance %.0e) %s\n", d, tol,
                d < tol ? "OK" : "FAIL");
    failures += d < tol ? 0 : 1;
    StreamEngine engine(gpu_net, dev, 64);
    auto steps = torch::rand({8, 12, 3, n, n});
    std::vector<std::uint64_t> ids(8);
    for (std::size_t i = 0; i < ids.size(); ++i)
      ids[i] = i;
    double worst = 0.0;
    for (std::int64_t t = 0; t + 5 <= 12; ++t) {
      auto w = steps.narrow(1, t, 5).contiguous();
      auto y = engine.reconstruct(w.data_ptr<float>(), 8, ids.data());
      worst = std::max(worst, (y - cpu_net->forward(w)).abs().max().item<double>());
    }
    std::printf(
        "check streaming GPU vs plain CPU over 8 windows x 8 streams: max |diff| = %.3g "
        "(hits %llu) %s\n",
        worst, static_cast<unsigned long long>(engine.stats().hits), worst < tol ? "OK" : "FAIL");
    failures += worst < tol ? 0 : 1;
  }

  for (std::int64_t batch : {1, 32, 256, 1024}) {
    auto x = torch::rand({batch, 5, 3, n, n});
    auto xp = x.pin_memory();
    std::vector<double> plain;
    for (int r = 0; r < reps + 2; ++r) {
      auto t0 = Clock::now();
      auto y = gpu_net->forward(xp.to(dev, /*non_blocking=*/true)).to(torch::kCPU);
      if (r >= 2) plain.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    StreamEngine engine(gpu_net, dev, static_cast<std::size_t>(batch));
    auto steps = torch::rand({batch, reps + 7, 3, n, n});
    std::vector<std::uint64_t> ids(static_cast<std::size_t>(batch));
    for (std::size_t i = 0; i < ids.size(); ++i)
      ids[i] = i;
    std::vector<double> stream;
    for (int r = 0; r < reps + 2; ++r) {
      auto w = steps.narrow(1, r, 5).contiguous();
      auto t0 = Clock::now();
      auto y = engine.reconstruct(w.data_ptr<float>(), static_cast<std::size_t>(batch), ids.data());
      if (r >= 2) stream.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::printf(
        "batch %5lld  plain %10.1f win/s (p50 %.2f ms)  streaming %10.1f win/s (p50 %.2f ms)\n",
        static_cast<long long>(batch), static_cast<double>(batch) / median(plain),
        1e3 * median(plain), static_cast<double>(batch) / median(stream), 1e3 * median(stream));
  }
  return failures == 0 ? 0 : 1;
}
