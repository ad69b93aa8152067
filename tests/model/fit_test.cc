// Training loop and parameter import/export of the network.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "fit.h"

namespace mscred::model {
namespace {

ModelConfig tiny() {
  ModelConfig c;
  c.n = 8;
  c.scales = 2;
  c.history = 3;
  return c;
}

// Smooth windows: each matrix a rank-one outer product of a slowly moving vector, so the
// network can learn them.
WindowSet smooth_windows(std::size_t count, unsigned seed) {
  const auto c = tiny();
  WindowSet w;
  w.count = count;
  w.window_size = static_cast<std::size_t>(c.history * c.scales * c.n * c.n);
  w.data.resize(count * w.window_size);
  for (std::size_t i = 0; i < count; ++i) {
    for (std::int64_t t = 0; t < c.history; ++t) {
      for (std::int64_t s = 0; s < c.scales; ++s) {
        for (std::int64_t a = 0; a < c.n; ++a) {
          for (std::int64_t b = 0; b < c.n; ++b) {
            const double phase = 0.3 * double(i + t) + seed;
            const double va = std::sin(phase + a), vb = std::sin(phase + b);
            w.data[i * w.window_size + std::size_t(((t * c.scales + s) * c.n + a) * c.n + b)] =
                float(0.5 * va * vb / (1 + s));
          }
        }
      }
    }
  }
  return w;
}

TEST(FitTest, LossDecreasesAndBestWeightsAreKept) {
  torch::manual_seed(0);
  MscredNet net(tiny());
  const auto train = smooth_windows(16, 0);
  const auto val = smooth_windows(8, 100);
  const double before = evaluate_loss(net, val, 8);
  FitOptions o;
  o.learning_rate = 1e-3;
  o.batch_size = 8;
  o.epochs = 4;
  int calls = 0;
  o.progress = [&](const FitProgress& p) { calls += p.epoch_end ? 1 : 0; };
  const auto r = fit(net, train, val, o);
  ASSERT_EQ(r.val_loss.size(), static_cast<std::size_t>(calls));
  const double best = *std::min_element(r.val_loss.begin(), r.val_loss.end());
  EXPECT_LT(best, before);
  // The weights left in the net are the best epoch's: re-evaluating gives its loss.
  EXPECT_NEAR(evaluate_loss(net, val, 8), best, 1e-6 + 1e-4 * best);
  EXPECT_EQ(r.val_loss[std::size_t(r.best_epoch - 1)], best);
}

TEST(FitTest, SameSeedSameWeights) {
  const auto train = smooth_windows(16, 0);
  const WindowSet none;
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    torch::manual_seed(42);
    MscredNet net(tiny());
    FitOptions o;
    o.batch_size = 4;
    o.epochs = 2;
    o.seed = 42;
    fit(net, train, none, o);
    const auto blobs = export_parameters(net);
    if (run == 0) {
      first = blobs[5].data;
    } else {
      EXPECT_EQ(blobs[5].data, first);
    }
  }
}

// Windows 0..5 as a stream would give them, except that window 3 comes from another part of
// the series (a gap): 3 + 1 + 1 distinct steps for windows 0..2, 3 for window 3, 3 for window 4
// (it does not continue window 3), 1 for window 5.
torch::Tensor windows_with_a_gap() {
  const auto a = smooth_windows(6, 0);
  const auto b = smooth_windows(6, 100);
  auto data = a.data;
  std::copy(b.data.begin() + 3 * b.window_size, b.data.begin() + 4 * b.window_size,
            data.begin() + 3 * a.window_size);
  const auto c = tiny();
  return torch::from_blob(data.data(), {6, c.history, c.scales, c.n, c.n}).clone();
}

TEST(SharedStepsTest, DistinctStepsFoundByContentAndGatheredBackExactly) {
  const auto x = windows_with_a_gap();
  const auto s = share_consecutive_steps(x, tiny().history);
  EXPECT_EQ(s.steps.size(0), 3 + 1 + 1 + 3 + 3 + 1);
  EXPECT_EQ(s.shared_windows, 3);
  // The definition: gathering the distinct steps by the index gives back every window.
  auto gathered = s.steps.index_select(0, s.index.flatten()).view(x.sizes());
  EXPECT_TRUE(torch::equal(gathered, x));
  const auto* idx = s.index.data_ptr<std::int64_t>();
  EXPECT_EQ(idx[1 * 3 + 0], idx[0 * 3 + 1]);  // window 1 step 0 is window 0 step 1
  EXPECT_NE(idx[3 * 3 + 0], idx[2 * 3 + 1]);  // the gap
}

TEST(SharedStepsTest, LossAndEveryGradientEqualThePerWindowComputation) {
  // Reference: each window alone through the fused (textbook) cell, its loss / B
  // backpropagated and the gradients summed. Shared: one forward_steps over the distinct
  // steps, gradients accumulating through index_select.
  for (std::int64_t k : {2, 3}) {
    auto c = tiny();
    c.lstm_kernel = k;
    torch::manual_seed(3);
    MscredNet net(c);
    const auto x = windows_with_a_gap();
    const auto b = x.size(0);
    net->zero_grad();
    double ref_loss = 0.0;
    for (std::int64_t i = 0; i < b; ++i) {
      auto xi = x.narrow(0, i, 1);
      auto li = reconstruction_loss(net->forward_fused(xi), xi) / static_cast<double>(b);
      li.backward();
      ref_loss += li.item<double>();
    }
    std::vector<torch::Tensor> ref;
    for (auto& p : net->parameters())
      ref.push_back(p.grad().clone());
    net->zero_grad();
    auto loss = reconstruction_loss(forward_batch(net, x, /*shared=*/true), x);
    loss.backward();
    EXPECT_NEAR(loss.item<double>(), ref_loss, 1e-6 + 1e-5 * ref_loss) << "k" << k;
    auto params = net->parameters();
    ASSERT_EQ(params.size(), ref.size());
    for (std::size_t i = 0; i < ref.size(); ++i) {
      const double scale = ref[i].abs().max().item<double>() + 1e-12;
      EXPECT_LT((params[i].grad() - ref[i]).abs().max().item<double>() / scale, 1e-4)
          << "k" << k << " parameter " << i;
    }
  }
}

TEST(FitTest, ContiguousOrderTrainsDeterministicallyAndValidatesLikeThePlainPath) {
  const auto train = smooth_windows(12, 0);
  const auto val = smooth_windows(4, 100);
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    torch::manual_seed(42);
    MscredNet net(tiny());
    const double before = evaluate_loss(net, val, 4);
    EXPECT_NEAR(evaluate_loss(net, val, 4, /*shared=*/true), before, 1e-6 * (1 + before));
    FitOptions o;
    o.batch_size = 4;
    o.epochs = 2;
    o.learning_rate = 1e-3;
    o.seed = 42;
    o.batch_order = BatchOrder::kContiguous;
    const auto r = fit(net, train, val, o);
    EXPECT_LT(*std::min_element(r.val_loss.begin(), r.val_loss.end()), before);
    const auto blobs = export_parameters(net);
    if (run == 0) {
      first = blobs[5].data;
    } else {
      EXPECT_EQ(blobs[5].data, first);
    }
  }
}

TEST(FitTest, ExportImportRoundTrip) {
  torch::manual_seed(1);
  MscredNet a(tiny());
  torch::manual_seed(2);
  MscredNet b(tiny());
  import_parameters(b, export_parameters(a), "mem");
  auto x = torch::rand({2, 3, 2, 8, 8});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

TEST(FitTest, ImportRefusesWrongShapeMissingAndExtraTensors) {
  MscredNet net(tiny());
  auto blobs = export_parameters(net);
  auto bad_shape = blobs;
  bad_shape[2].shape[0] += 1;
  try {
    import_parameters(net, bad_shape, "f.ckpt");
    FAIL();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("f.ckpt: tensor " + blobs[2].name + " has shape"),
              std::string::npos)
        << e.what();
  }
  auto missing = blobs;
  missing.pop_back();
  EXPECT_THROW(import_parameters(net, missing, "f.ckpt"), CheckpointError);
  auto extra = blobs;
  extra.push_back({"lstm.9.conv.weight", {1}, {0.f}});
  EXPECT_THROW(import_parameters(net, extra, "f.ckpt"), CheckpointError);
}

}  // namespace
}  // namespace mscred::model
