// Signature update cost per sample: SignatureState (incremental) against recomputing
// every scale from scratch at each emitted step, for n = 38, 128, 512, 1024 sensors and
// step 1 and 10, default scales {10, 30, 60}, history 5. Both paths produce the same
// float32 [scales, n, n] step into a history of the last 5 steps, and both use the same
// inner kernel (detail::gram_rows), so the ratio is the algorithm's.
// Results and ratios: docs/pipeline.md. Run from a Release build:
//   build/bench/signature_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "mscred/pipeline/signature.h"

namespace {

using mscred::pipeline::SignatureConfig;
using mscred::pipeline::SignatureState;

constexpr std::size_t kDataRows = 256;  // cycled through

std::vector<double> make_data(std::size_t n) {
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> v(kDataRows * n);
  for (auto& x : v)
    x = u(rng);
  return v;
}

SignatureConfig config_for(int step) {
  SignatureConfig c;
  c.step = step;
  return c;
}

void BM_Incremental(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const SignatureConfig c = config_for(static_cast<int>(st.range(1)));
  const std::vector<double> data = make_data(n);
  SignatureState s(n, c);
  std::size_t t = 0;
  for (; t < 60; ++t)
    s.push(&data[(t % kDataRows) * n]);  // window full
  for (auto _ : st) {
    benchmark::DoNotOptimize(s.push(&data[(t % kDataRows) * n]));
    ++t;
  }
  benchmark::DoNotOptimize(s.latest().data());
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
  st.counters["state_MB"] = static_cast<double>(s.memory_bytes()) / 1e6;
}

// The same stream, the same emission rule and the same float output, but each emitted
// step recomputes every scale from the window with signature_from_scratch.
void BM_FromScratch(benchmark::State& st) {
  const auto n = static_cast<std::size_t>(st.range(0));
  const SignatureConfig c = config_for(static_cast<int>(st.range(1)));
  const std::vector<double> data = make_data(n);
  const std::size_t w_max = 60;
  // Each sample is written twice, at slot and slot + w_max, so that the last w_max rows
  // are always contiguous: rows [slot + 1, slot + w_max + 1).
  std::vector<double> ring(2 * w_max * n, 0.0);
  std::vector<double> tmp(n * n);
  // Like SignatureState, keep the last `history` steps (the model window) as float.
  std::vector<std::vector<float>> history(static_cast<std::size_t>(c.history),
                                          std::vector<float>(c.scales.size() * n * n));
  std::size_t newest = 0;
  std::uint64_t t = 0;
  auto push = [&](const double* x) {
    const std::size_t slot = static_cast<std::size_t>(t % w_max);
    std::copy(x, x + n, ring.begin() + static_cast<std::ptrdiff_t>(slot * n));
    std::copy(x, x + n, ring.begin() + static_cast<std::ptrdiff_t>((slot + w_max) * n));
    const bool emit = t + 1 >= w_max && (t + 1 - w_max) % static_cast<std::uint64_t>(c.step) == 0;
    ++t;
    if (!emit) return false;
    newest = (newest + 1) % history.size();
    std::vector<float>& out = history[newest];
    for (std::size_t s = 0; s < c.scales.size(); ++s) {
      mscred::pipeline::signature_from_scratch(ring.data(), n, slot + w_max + 1, c.scales[s],
                                               tmp.data());
      float* o = out.data() + s * n * n;
      for (std::size_t e = 0; e < n * n; ++e)
        o[e] = static_cast<float>(tmp[e]);
    }
    return true;
  };
  for (std::size_t k = 0; k < 60; ++k)
    push(&data[(t % kDataRows) * n]);
  for (auto _ : st) {
    benchmark::DoNotOptimize(push(&data[(t % kDataRows) * n]));
  }
  benchmark::DoNotOptimize(history[newest].data());
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}

void Args(benchmark::internal::Benchmark* b) {
  for (int step : {1, 10}) {
    for (int n : {38, 128, 512, 1024})
      b->Args({n, step});
  }
  b->ArgNames({"n", "step"})->Unit(benchmark::kMicrosecond)->MinTime(0.3);
}

BENCHMARK(BM_Incremental)->Apply(Args);
BENCHMARK(BM_FromScratch)->Apply(Args);

}  // namespace

BENCHMARK_MAIN();
