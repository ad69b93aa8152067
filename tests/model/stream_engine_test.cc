// The streaming cache (model/src/stream_engine.h) against the plain computation: every
// window's reconstruction through the cache must equal the fused-cell full forward of that
// window alone (MscredNet::forward_fused, the textbook ConvLSTM), whatever the order of
// streams, gaps, evictions and forget() calls. Hit and miss counts are worked out by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "mscred_net.h"
#include "stream_engine.h"

namespace mscred::model {
namespace {

ModelConfig config_for(std::int64_t n, std::int64_t kernel,
                       Objective objective = Objective::kReconstruct) {
  ModelConfig c;
  c.n = n;
  c.scales = 3;
  c.history = 5;
  c.lstm_kernel = kernel;
  c.objective = objective;
  return c;
}

// A stream of signature steps; window(t) = steps t .. t+h-1 (oldest first), contiguous.
struct Stream {
  std::vector<torch::Tensor> steps;  // each [scales, n, n]
  std::vector<float> window(std::size_t t, std::int64_t h) const {
    std::vector<float> w;
    for (std::int64_t k = 0; k < h; ++k) {
      const auto& s = steps[t + static_cast<std::size_t>(k)];
      w.insert(w.end(), s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
    }
    return w;
  }
};

Stream make_stream(std::size_t count, std::int64_t n) {
  Stream s;
  for (std::size_t i = 0; i < count; ++i)
    s.steps.push_back(torch::rand({3, n, n}));
  return s;
}

class StreamFixture : public ::testing::TestWithParam<std::pair<std::int64_t, std::int64_t>> {
 protected:
  void SetUp() override {
    n_ = GetParam().first;
    torch::manual_seed(11);
    net_ = MscredNet(config_for(n_, GetParam().second, objective()));
    // Perturb the ConvLSTM biases so every gate is away from its default.
    torch::NoGradGuard no_grad;
    for (auto& p : net_->named_parameters()) {
      if (p.key().rfind("lstm.", 0) == 0 && p.key().find("bias") != std::string::npos) {
        p.value().add_(0.1 * torch::randn_like(p.value()));
      }
    }
    net_->eval();
  }

  virtual Objective objective() const { return Objective::kReconstruct; }

  // Output for one window by the fused reference, [scales, n, n] (forecast: it reads the
  // window's first h - 1 steps, tested against a history h - 1 network in forecast_test.cc).
  torch::Tensor reference(const std::vector<float>& w) {
    torch::NoGradGuard no_grad;
    auto x = torch::from_blob(const_cast<float*>(w.data()), {1, 5, 3, n_, n_}).clone();
    return net_->forward_fused(x)[0];
  }

  // Runs a batch through the engine and checks every window against the reference.
  void run_batch(StreamEngine& engine, const std::vector<std::vector<float>>& windows,
                 const std::vector<std::uint64_t>& ids) {
    std::vector<float> flat;
    for (const auto& w : windows)
      flat.insert(flat.end(), w.begin(), w.end());
    auto y = engine.reconstruct(flat.data(), windows.size(), ids.data());
    ASSERT_EQ(y.size(0), static_cast<std::int64_t>(windows.size()));
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const double err =
          (y[static_cast<std::int64_t>(i)] - reference(windows[i])).abs().max().item<double>();
      EXPECT_LT(err, 1e-4) << "window " << i << " of stream " << ids[i];
    }
  }

  void interleaved_streams_with_a_gap();
  void eviction_during_refill();
  void consecutive_windows_in_one_batch();

  std::int64_t n_ = 8;
  MscredNet net_{nullptr};
};

void StreamFixture::interleaved_streams_with_a_gap() {
  const std::int64_t h = 5;
  const std::size_t windows = 3 * h + 1;  // >= 3h consecutive windows per stream
  // Stream A misses a step after window 5: the next window it sends starts at step 7, so
  // its first h-1 steps are not the cached last h-1 (one miss), then it runs on.
  Stream a = make_stream(windows + h + 1, n_);
  Stream b = make_stream(windows + h, n_);
  StreamEngine engine(net_, torch::kCPU, 16);

  std::uint64_t expected_hits = 0;
  std::uint64_t expected_misses = 0;
  for (std::size_t t = 0; t < windows; ++t) {
    const std::size_t a_start = t < 6 ? t : t + 1;
    const bool a_hit = t != 0 && t != 6;
    const bool b_hit = t != 0;
    const auto aw = a.window(a_start, h);
    const auto bw = b.window(t, h);
    if (t % 3 == 0) {
      // Both streams in one batch.
      run_batch(engine, {aw, bw}, {1, 2});
    } else {
      // One at a time, alternating order.
      if (t % 2 == 0) {
        run_batch(engine, {aw}, {1});
        run_batch(engine, {bw}, {2});
      } else {
        run_batch(engine, {bw}, {2});
        run_batch(engine, {aw}, {1});
      }
    }
    expected_hits += (a_hit ? 1 : 0) + (b_hit ? 1 : 0);
    expected_misses += (a_hit ? 0 : 1) + (b_hit ? 0 : 1);
  }
  EXPECT_EQ(engine.stats().hits, expected_hits);
  EXPECT_EQ(engine.stats().misses, expected_misses);
  EXPECT_EQ(engine.stats().streams, 2u);
}

// A store() during the refill evicts the least recent stream while a later window of the
// same batch hit that stream's entry: its cached gates must have been taken before (a
// regression: they were read from the evicted entry; at n = 30 a level's gates are above
// glibc's mmap threshold, so reading the freed entry crashed).
void StreamFixture::eviction_during_refill() {
  const std::int64_t h = 5;
  Stream a = make_stream(8, n_), b = make_stream(8, n_), c = make_stream(8, n_);
  StreamEngine engine(net_, torch::kCPU, 2);
  run_batch(engine, {b.window(0, h)}, {2});                     // miss
  run_batch(engine, {a.window(0, h)}, {1});                     // miss; 2 is now least recent
  run_batch(engine, {c.window(0, h), b.window(1, h)}, {3, 2});  // miss, hit on 2; storing 3
                                                                // evicts 2 before 2 is stored
  run_batch(engine, {b.window(2, h)}, {2});  // hit on the entry refilled from the hit above
  run_batch(engine, {c.window(1, h)}, {3});  // storing 2 evicted 1, so 3 is still cached: hit
  EXPECT_EQ(engine.stats().hits, 3u);
  EXPECT_EQ(engine.stats().misses, 3u);
}

TEST_P(StreamFixture, EvictionDuringRefillKeepsTheHitsGates) {
  eviction_during_refill();
}

TEST_P(StreamFixture, TwoInterleavedStreamsWithAGapEqualThePlainForward) {
  interleaved_streams_with_a_gap();
}

// The same with the forecast objective: the network reads steps 0..h-2, the cache holds h-2
// of them, and a window that continues its stream encodes its step h-2 only.
class ForecastStreamFixture : public StreamFixture {
 protected:
  Objective objective() const override { return Objective::kForecast; }
};

TEST_P(ForecastStreamFixture, EvictionDuringRefillKeepsTheHitsGates) {
  eviction_during_refill();
}

TEST_P(ForecastStreamFixture, TwoInterleavedStreamsWithAGapEqualThePlainForward) {
  interleaved_streams_with_a_gap();
}

INSTANTIATE_TEST_SUITE_P(Sizes, ForecastStreamFixture,
                         ::testing::Values(std::make_pair(8, 3), std::make_pair(7, 2)),
                         [](const auto& tc) {
                           return "n" + std::to_string(tc.param.first) + "_k" +
                                  std::to_string(tc.param.second);
                         });

INSTANTIATE_TEST_SUITE_P(Sizes, StreamFixture,
                         ::testing::Values(std::make_pair(8, 3), std::make_pair(8, 2),
                                           std::make_pair(7, 3), std::make_pair(30, 3)),
                         [](const auto& tc) {
                           return "n" + std::to_string(tc.param.first) + "_k" +
                                  std::to_string(tc.param.second);
                         });

class StreamCacheTest : public StreamFixture {};

TEST_P(StreamCacheTest, LruEvictionAndForget) {
  const std::int64_t h = 5;
  Stream s[3] = {make_stream(8, n_), make_stream(8, n_), make_stream(8, n_)};
  StreamEngine engine(net_, torch::kCPU, 2);
  EXPECT_EQ(engine.bytes_per_stream(),
            static_cast<std::size_t>(
                4 * (3 * n_ * n_ + 4 * (32 * n_ * n_ + 64 * 16 + 128 * 4 + 256 * 1))) *
                sizeof(float));
  run_batch(engine, {s[0].window(0, h)}, {10});  // miss
  run_batch(engine, {s[1].window(0, h)}, {11});  // miss
  run_batch(engine, {s[0].window(1, h)}, {10});  // hit; 10 is now the most recent
  run_batch(engine, {s[2].window(0, h)}, {12});  // miss; evicts 11 (least recent)
  EXPECT_EQ(engine.stats().evictions, 1u);
  EXPECT_EQ(engine.stats().streams, 2u);
  run_batch(engine, {s[1].window(1, h)}, {11});  // miss (evicted); evicts 10
  run_batch(engine, {s[2].window(1, h)}, {12});  // hit
  EXPECT_EQ(engine.stats().hits, 2u);
  EXPECT_EQ(engine.stats().misses, 4u);
  engine.forget(12);
  EXPECT_EQ(engine.stats().streams, 1u);
  run_batch(engine, {s[2].window(2, h)}, {12});  // miss (forgotten)
  run_batch(engine, {s[1].window(2, h)}, {11});  // hit
  EXPECT_EQ(engine.stats().hits, 3u);
  EXPECT_EQ(engine.stats().misses, 5u);
}

TEST_P(StreamCacheTest, WrongBookkeepingCannotGiveAWrongResult) {
  // The same id used for another stream's window, two consecutive windows of one stream in
  // one batch, and a window repeated: the memcmp rule decides, outputs stay exact.
  const std::int64_t h = 5;
  Stream a = make_stream(12, n_);
  Stream b = make_stream(12, n_);
  StreamEngine engine(net_, torch::kCPU, 4);
  run_batch(engine, {a.window(0, h)}, {1});                     // miss
  run_batch(engine, {b.window(1, h)}, {1});                     // miss: not a's continuation
  run_batch(engine, {b.window(2, h), b.window(3, h)}, {1, 1});  // hit (cache), hit (in batch)
  run_batch(engine, {b.window(4, h)}, {1});                     // hit: cache kept the last one
  EXPECT_EQ(engine.stats().hits, 3u);
  EXPECT_EQ(engine.stats().misses, 2u);
  // Same id, another stream's window first: a.window(5) matches neither the cache (b's
  // window 4) nor anything before it (miss); b.window(5) does not continue a.window(5) but
  // does continue the cache (hit); the cache keeps b.window(5), so b.window(6) hits.
  run_batch(engine, {a.window(5, h), b.window(5, h)}, {1, 1});
  run_batch(engine, {b.window(6, h)}, {1});
  EXPECT_EQ(engine.stats().hits, 5u);
  EXPECT_EQ(engine.stats().misses, 3u);
}

void StreamFixture::consecutive_windows_in_one_batch() {
  // `mscred eval`'s batches: consecutive windows of its one stream. Batch 1 holds windows
  // 0..5 with a gap (the stream skips a step after window 3: the next window starts at step
  // 5); batch 2 continues from the last one, then stream 2's first window, then stream 1
  // again. Each window's first h-1 steps come from the window before it in the batch or
  // the cache, only when the bytes agree.
  const std::int64_t h = 5;
  Stream a = make_stream(20, n_);
  Stream other = make_stream(6, n_);
  StreamEngine engine(net_, torch::kCPU, 4);
  run_batch(engine,
            {a.window(0, h), a.window(1, h), a.window(2, h), a.window(3, h), a.window(5, h),
             a.window(6, h)},
            {1, 1, 1, 1, 1, 1});
  // miss, hit, hit, hit, miss (gap), hit
  EXPECT_EQ(engine.stats().hits, 4u);
  EXPECT_EQ(engine.stats().misses, 2u);
  run_batch(engine, {a.window(7, h), a.window(8, h), other.window(0, h), a.window(9, h)},
            {1, 1, 2, 1});
  // hit (cache), hit (batch), miss (new stream), hit (batch, past the other stream)
  EXPECT_EQ(engine.stats().hits, 7u);
  EXPECT_EQ(engine.stats().misses, 3u);
  run_batch(engine, {a.window(10, h), other.window(1, h)}, {1, 2});  // both from the cache
  EXPECT_EQ(engine.stats().hits, 9u);
  EXPECT_EQ(engine.stats().streams, 2u);
}

TEST_P(StreamCacheTest, ConsecutiveWindowsOfOneStreamInOneBatch) {
  consecutive_windows_in_one_batch();
}
// Forecast (T = h - 1 input steps): the gap after window 3 still breaks the overlap of the
// input steps, so hits and misses are the same.
TEST_P(ForecastStreamFixture, ConsecutiveWindowsOfOneStreamInOneBatch) {
  consecutive_windows_in_one_batch();
}

TEST_P(StreamCacheTest, DisabledCacheComputesEverything) {
  const std::int64_t h = 5;
  Stream a = make_stream(8, n_);
  StreamEngine engine(net_, torch::kCPU, 0);
  for (std::size_t t = 0; t < 3; ++t)
    run_batch(engine, {a.window(t, h)}, {1});
  EXPECT_EQ(engine.stats().hits, 0u);
  EXPECT_EQ(engine.stats().misses, 3u);
  EXPECT_EQ(engine.stats().streams, 0u);
}

INSTANTIATE_TEST_SUITE_P(Tiny, StreamCacheTest, ::testing::Values(std::make_pair(8, 3)),
                         [](const auto&) { return std::string("n8"); });

TEST(SplitConvLstmTest, SplitEqualsFusedForwardAndGradient) {
  // The split cell (W_x over all steps, W_h from step 2) against the fused one, kernels 2
  // and 3 (2 pads right/bottom): same outputs and same weight gradients.
  for (std::int64_t k : {2, 3}) {
    torch::manual_seed(5);
    ConvLstm cell(4, k, 1.0);
    auto seq = torch::randn({2, 5, 4, 6, 6});
    auto a = cell->forward(seq);
    auto ga = torch::autograd::grad({(a * a).sum()}, {cell->conv->weight, cell->conv->bias});
    auto b = cell->forward_fused(seq);
    auto gb = torch::autograd::grad({(b * b).sum()}, {cell->conv->weight, cell->conv->bias});
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-5) << "k" << k;
    EXPECT_LT((ga[0] - gb[0]).abs().max().item<double>(), 1e-4) << "k" << k;
    EXPECT_LT((ga[1] - gb[1]).abs().max().item<double>(), 1e-4) << "k" << k;
    // Inference reuses copied W_x/W_h; a weight change must be seen.
    torch::NoGradGuard no_grad;
    auto before = cell->forward(seq);
    cell->conv->weight.mul_(0.5);
    auto after = cell->forward(seq);
    EXPECT_LT((after - cell->forward_fused(seq)).abs().max().item<double>(), 1e-5);
    EXPECT_GT((after - before).abs().max().item<double>(), 1e-4);
  }
}

TEST(MkldnnTest, OneDnnConvolutionsComputeTheSameNetwork) {
  // Every conv through at::mkldnn_convolution, the transposed ones as convs over
  // zero-inserted input: same outputs as ATen's own choice, and the same gradients.
  if (!at::hasMKLDNN()) GTEST_SKIP() << "LibTorch built without oneDNN";
  for (std::int64_t n : {7, 8, 30}) {
    torch::manual_seed(6);
    MscredNet net(config_for(n, n == 7 ? 2 : 3));
    auto x = torch::rand({2, 5, 3, n, n});
    torch::NoGradGuard no_grad;
    auto plain = net->forward(x);
    net->set_mkldnn(true);
    auto onednn = net->forward(x);
    EXPECT_LT((plain - onednn).abs().max().item<double>(), 1e-5) << "n" << n;
    EXPECT_LT((net->forward_fused(x) - plain).abs().max().item<double>(), 1e-5) << "n" << n;
  }
  torch::manual_seed(7);
  MscredNet net(config_for(8, 3));
  auto x = torch::rand({2, 5, 3, 8, 8});
  auto grads = [&](bool on) {
    net->set_mkldnn(on);
    net->zero_grad();
    reconstruction_loss(net->forward(x), x).backward();
    std::vector<torch::Tensor> g;
    for (auto& p : net->parameters())
      g.push_back(p.grad().clone());
    return g;
  };
  auto a = grads(false);
  auto b = grads(true);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double scale = a[i].abs().max().item<double>() + 1e-12;
    EXPECT_LT((a[i] - b[i]).abs().max().item<double>() / scale, 1e-4) << "parameter " << i;
  }
}

}  // namespace
}  // namespace mscred::model
