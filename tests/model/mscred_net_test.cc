// Shapes, attention, recurrence and parameter registration of the MSCRED network.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "mscred_net.h"

namespace mscred::model {
namespace {

ModelConfig config_for(std::int64_t n, std::int64_t kernel = 3) {
  ModelConfig c;
  c.n = n;
  c.scales = 3;
  c.history = 5;
  c.lstm_kernel = kernel;
  return c;
}

// Expected level sizes worked out by hand from the issue: n, ceil(n/2), ceil(n/4), ceil(n/8).
struct ShapeCase {
  std::int64_t n;
  std::int64_t sizes[4];
};

class NetShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(NetShapeTest, EveryIntermediateShape) {
  const auto p = GetParam();
  torch::manual_seed(0);
  MscredNet net(config_for(p.n));
  const std::int64_t ch[4] = {32, 64, 128, 256};
  NetTrace trace;
  torch::NoGradGuard no_grad;
  auto y = net->forward(torch::rand({2, 5, 3, p.n, p.n}), &trace);
  ASSERT_EQ(trace.encoded.size(), 4u);
  for (int l = 0; l < 4; ++l) {
    const auto s = p.sizes[l];
    EXPECT_EQ(trace.encoded[l].sizes(), torch::IntArrayRef({2, 5, ch[l], s, s})) << "level " << l;
    EXPECT_EQ(trace.lstm[l].sizes(), torch::IntArrayRef({2, 5, ch[l], s, s})) << "level " << l;
    EXPECT_EQ(trace.attention[l].sizes(), torch::IntArrayRef({2, 5})) << "level " << l;
    EXPECT_EQ(trace.refined[l].sizes(), torch::IntArrayRef({2, ch[l], s, s})) << "level " << l;
  }
  ASSERT_EQ(trace.decoded.size(), 4u);
  EXPECT_EQ(trace.decoded[0].sizes(), torch::IntArrayRef({2, 128, p.sizes[2], p.sizes[2]}));
  EXPECT_EQ(trace.decoded[1].sizes(), torch::IntArrayRef({2, 64, p.sizes[1], p.sizes[1]}));
  EXPECT_EQ(trace.decoded[2].sizes(), torch::IntArrayRef({2, 32, p.n, p.n}));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 3, p.n, p.n}));
}

INSTANTIATE_TEST_SUITE_P(Sizes, NetShapeTest,
                         ::testing::Values(ShapeCase{4, {4, 2, 1, 1}}, ShapeCase{7, {7, 4, 2, 1}},
                                           ShapeCase{30, {30, 15, 8, 4}},
                                           ShapeCase{38, {38, 19, 10, 5}}),
                         [](const auto& tc) { return "n" + std::to_string(tc.param.n); });

TEST(NetTest, KernelTwoKeepsShapes) {
  torch::manual_seed(0);
  MscredNet net(config_for(7, 2));
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(torch::rand({1, 5, 3, 7, 7})).sizes(), torch::IntArrayRef({1, 3, 7, 7}));
}

TEST(NetTest, RejectsWrongInputShape) {
  MscredNet net(config_for(8));
  torch::NoGradGuard no_grad;
  EXPECT_THROW(net->forward(torch::rand({1, 4, 3, 8, 8})), c10::Error);
  EXPECT_THROW(net->forward(torch::rand({1, 5, 3, 9, 9})), c10::Error);
}

TEST(NetTest, RejectsTooSmallN) {
  EXPECT_THROW(MscredNet(config_for(3)), std::invalid_argument);
}

TEST(AttentionTest, WeightsSumToOneAndFollowTheDefinition) {
  torch::manual_seed(1);
  auto hs = torch::randn({3, 5, 4, 2, 2}) * 0.3;
  torch::Tensor alpha;
  auto refined = temporal_attention(hs, 5.0, &alpha);
  EXPECT_TRUE(torch::allclose(alpha.sum(1), torch::ones({3}), 1e-6, 1e-6));
  // From scratch for sample 0: scores by explicit loops, softmax by hand.
  auto a = hs.accessor<float, 5>();
  double scores[5];
  double max_score = -1e300;
  for (int k = 0; k < 5; ++k) {
    double s = 0;
    for (int c = 0; c < 4; ++c)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
          s += double(a[0][k][c][i][j]) * a[0][4][c][i][j];
    scores[k] = s / 5.0;
    max_score = std::max(max_score, scores[k]);
  }
  double denom = 0;
  for (double s : scores)
    denom += std::exp(s - max_score);
  for (int k = 0; k < 5; ++k) {
    EXPECT_NEAR(alpha[0][k].item<double>(), std::exp(scores[k] - max_score) / denom, 1e-5);
  }
  double r = 0;
  for (int k = 0; k < 5; ++k)
    r += std::exp(scores[k] - max_score) / denom * a[0][k][1][1][0];
  EXPECT_NEAR(refined[0][1][1][0].item<double>(), r, 1e-5);
}

TEST(NetTest, AttentionWeightsOfAForwardSumToOne) {
  torch::manual_seed(2);
  MscredNet net(config_for(8));
  NetTrace trace;
  torch::NoGradGuard no_grad;
  net->forward(torch::rand({2, 5, 3, 8, 8}), &trace);
  for (const auto& alpha : trace.attention) {
    EXPECT_TRUE(torch::allclose(alpha.sum(1), torch::ones({2}), 1e-5, 1e-5));
    EXPECT_TRUE((alpha >= 0).all().item<bool>());
  }
}

TEST(ConvLstmTest, RecurrenceIsReal) {
  // Changing only step 1 of 5 must change the newest hidden state of every level and the
  // reconstruction: a port that feeds the steps as a batch would leave them unchanged.
  torch::manual_seed(3);
  MscredNet net(config_for(8));
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 5, 3, 8, 8});
  auto x2 = x.clone();
  x2.select(1, 0).add_(0.5);
  NetTrace t1;
  NetTrace t2;
  auto y1 = net->forward(x, &t1);
  auto y2 = net->forward(x2, &t2);
  for (int l = 0; l < 4; ++l) {
    auto newest1 = t1.lstm[l].select(1, 4);
    auto newest2 = t2.lstm[l].select(1, 4);
    EXPECT_GT((newest1 - newest2).abs().max().item<double>(), 1e-7) << "level " << l;
  }
  EXPECT_GT((y1 - y2).abs().max().item<double>(), 1e-7);
}

TEST(ConvLstmTest, FirstStepStartsFromZeroState) {
  // With h = c = 0: c1 = sigmoid(i) * tanh(j), h1 = sigmoid(o) * tanh(c1), gates from the
  // conv over [x, 0]. Computed here with a separate conv call.
  torch::manual_seed(4);
  ConvLstm cell(2, 3, 1.0);
  auto seq = torch::randn({1, 3, 2, 4, 4});
  torch::NoGradGuard no_grad;
  auto out = cell->forward(seq);
  auto in0 = torch::cat({seq.select(1, 0), torch::zeros({1, 2, 4, 4})}, 1);
  auto g = torch::conv2d(in0, cell->conv->weight, cell->conv->bias, 1, 1).chunk(4, 1);
  auto c1 = torch::sigmoid(g[0]) * torch::tanh(g[1]);
  auto h1 = torch::sigmoid(g[3]) * torch::tanh(c1);
  EXPECT_TRUE(torch::allclose(out.select(1, 0), h1, 1e-5, 1e-6));
  // Step 2 uses forget bias 1 on the carried cell state.
  auto in1 = torch::cat({seq.select(1, 1), h1}, 1);
  auto g2 = torch::conv2d(in1, cell->conv->weight, cell->conv->bias, 1, 1).chunk(4, 1);
  auto c2 = torch::sigmoid(g2[2] + 1.0) * c1 + torch::sigmoid(g2[0]) * torch::tanh(g2[1]);
  auto h2 = torch::sigmoid(g2[3]) * torch::tanh(c2);
  EXPECT_TRUE(torch::allclose(out.select(1, 1), h2, 1e-5, 1e-6));
}

TEST(NetTest, AllParametersAreRegisteredWithReferenceNames) {
  MscredNet net(config_for(8));
  auto params = net->named_parameters();
  for (int l = 0; l < 4; ++l) {
    for (const char* kind : {"weight", "bias"}) {
      const auto i = std::to_string(l);
      EXPECT_TRUE(params.contains("enc." + i + "." + kind)) << i << kind;
      EXPECT_TRUE(params.contains("lstm." + i + ".conv." + kind)) << i << kind;
      EXPECT_TRUE(params.contains("dec." + i + "." + kind)) << i << kind;
    }
  }
  EXPECT_EQ(params.size(), 24u);
  EXPECT_EQ(params["lstm.1.conv.weight"].sizes(), torch::IntArrayRef({256, 128, 3, 3}));
  EXPECT_EQ(params["dec.2.weight"].sizes(), torch::IntArrayRef({128, 32, 3, 3}));
}

TEST(NetTest, ZeroedConvLstmDiffersFromTrained) {
  // A few Adam steps must move the ConvLSTM weights (they get gradients), and zeroing them
  // must change the output: guards against a port whose LSTM silently trains nothing.
  torch::manual_seed(5);
  MscredNet net(config_for(8));
  auto before = net->named_parameters()["lstm.0.conv.weight"].clone();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  auto x = torch::rand({4, 5, 3, 8, 8});
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    auto loss = reconstruction_loss(net->forward(x), x);
    loss.backward();
    opt.step();
  }
  for (int l = 0; l < 4; ++l) {
    auto w = net->named_parameters()["lstm." + std::to_string(l) + ".conv.weight"];
    ASSERT_TRUE(w.grad().defined());
    EXPECT_GT(w.grad().abs().sum().item<double>(), 0.0) << "level " << l;
  }
  auto after = net->named_parameters()["lstm.0.conv.weight"];
  EXPECT_GT((after - before).abs().max().item<double>(), 0.0);

  torch::NoGradGuard no_grad;
  auto trained = net->forward(x);
  for (auto& p : net->named_parameters()) {
    if (p.key().rfind("lstm.", 0) == 0) p.value().zero_();
  }
  auto zeroed = net->forward(x);
  EXPECT_GT((trained - zeroed).abs().max().item<double>(), 1e-6);
}

// Reads a raw little-endian float32 file into a tensor of the given shape.
torch::Tensor read_raw(const std::string& path, torch::IntArrayRef shape) {
  auto t = torch::empty(shape, torch::kFloat32);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()),
          static_cast<std::streamsize>(t.numel() * sizeof(float)));
  if (!in) throw std::runtime_error("cannot read " + path);
  return t;
}

class ReferenceTest : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(ReferenceTest, ForwardEqualsPythonReference) {
  // The reference (shared/bench/mscred_ref.py) runs in python3-torch with random weights;
  // a script dumps its weights, a fixed input and its output as raw float32 files. We
  // load the weights by name and compare the outputs. Skips when python3-torch is absent.
  const std::int64_t kernel = GetParam();
  const std::string script = std::string(MSCRED_SOURCE_DIR) + "/tests/model/export_reference.py";
  const std::string ref = std::string(MSCRED_SHARED_DIR) + "/bench/mscred_ref.py";
  const std::string dir =
      std::string(MSCRED_BINARY_DIR) + "/tests/model/ref_k" + std::to_string(kernel);
  if (!std::ifstream(ref)) GTEST_SKIP() << "no " << ref;
  if (std::system(MSCRED_PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-torch not installed";
  }
  const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 " MSCRED_PYTHON " ") + script +
                          " --ref " + ref + " --out " + dir + " --kernel " +
                          std::to_string(kernel) + " --n 30";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  torch::NoGradGuard no_grad;
  MscredNet net(config_for(30, kernel));
  for (auto& p : net->named_parameters()) {
    p.value().copy_(read_raw(dir + "/" + p.key() + ".f32", p.value().sizes()));
  }
  auto x = read_raw(dir + "/input.f32", {2, 5, 3, 30, 30});
  auto expected = read_raw(dir + "/output.f32", {2, 3, 30, 30});
  auto y = net->forward(x);
  EXPECT_LT((y - expected).abs().max().item<double>(), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Kernels, ReferenceTest, ::testing::Values(2, 3),
                         [](const auto& tc) { return "k" + std::to_string(tc.param); });

}  // namespace
}  // namespace mscred::model
