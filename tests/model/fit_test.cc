// Training loop and parameter import/export of the network.
#include <gtest/gtest.h>
#include <torch/torch.h>

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
