// The forecast objective (ModelConfig::objective): the network reads steps 0..h-2 of a window
// and predicts step h-1. Checked against two independent definitions: what the output may
// and may not depend on, and a reconstructing network of history h-1 with the same weights
// (ConvLSTM, encoder and decoder weights do not depend on the number of steps).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "mscred_net.h"

namespace mscred::model {
namespace {

ModelConfig config_for(std::int64_t history, Objective objective, double chi) {
  ModelConfig c;
  c.n = 8;
  c.scales = 3;
  c.history = history;
  c.lstm_kernel = 3;
  c.chi = chi;
  c.objective = objective;
  return c;
}

// A network whose ConvLSTM biases are moved away from their defaults, so that every gate
// (and with it the recurrence over the steps) is active.
MscredNet perturbed_net(const ModelConfig& c, std::uint64_t seed) {
  torch::manual_seed(seed);
  MscredNet net(c);
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    if (p.key().rfind("lstm.", 0) == 0 && p.key().find("bias") != std::string::npos) {
      p.value().add_(0.1 * torch::randn_like(p.value()));
    }
  }
  net->eval();
  return net;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(ForecastTest, InputStepsAndDefaultChi) {
  MscredNet f(config_for(5, Objective::kForecast, 0.0));
  MscredNet r(config_for(5, Objective::kReconstruct, 0.0));
  EXPECT_EQ(f->input_steps(), 4);
  EXPECT_EQ(r->input_steps(), 5);
  EXPECT_DOUBLE_EQ(f->attention_chi(), 4.0);  // chi = 0 means chi = input steps
  EXPECT_DOUBLE_EQ(r->attention_chi(), 5.0);
  MscredNet g(config_for(5, Objective::kForecast, 2.5));
  EXPECT_DOUBLE_EQ(g->attention_chi(), 2.5);
}

TEST(ForecastTest, OutputIgnoresTheNewestStepAndDependsOnTheOldest) {
  auto net = perturbed_net(config_for(5, Objective::kForecast, 0.0), 21);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 5, 3, 8, 8});
  const auto y = net->forward(x);

  auto newest_changed = x.clone();
  newest_changed.select(1, 4).copy_(torch::rand({2, 3, 8, 8}));
  EXPECT_EQ(max_diff(net->forward(newest_changed), y), 0.0);
  EXPECT_EQ(max_diff(net->forward_fused(newest_changed), net->forward_fused(x)), 0.0);

  auto oldest_changed = x.clone();
  oldest_changed.select(1, 0).copy_(torch::rand({2, 3, 8, 8}));
  EXPECT_GT(max_diff(net->forward(oldest_changed), y), 1e-5);

  // The reconstructing network with the same weights does read the newest step (so the
  // first check above could fail).
  auto recon = perturbed_net(config_for(5, Objective::kReconstruct, 0.0), 21);
  EXPECT_GT(max_diff(recon->forward(newest_changed), recon->forward(x)), 1e-5);
}

TEST(ForecastTest, EqualsAReconstructingNetOfHistoryHMinus1WithTheSameWeights) {
  // Same chi on both sides, set explicitly (2.5) and by default (0: both use 4 steps).
  for (double chi : {2.5, 0.0}) {
    auto forecast = perturbed_net(config_for(5, Objective::kForecast, chi), 22);
    MscredNet twin(config_for(4, Objective::kReconstruct, chi));
    {
      torch::NoGradGuard no_grad;
      auto from = forecast->named_parameters();
      auto to = twin->named_parameters();
      ASSERT_EQ(from.size(), to.size());
      for (auto& p : to) {
        ASSERT_TRUE(from.contains(p.key())) << p.key();
        p.value().copy_(from[p.key()]);
      }
    }
    twin->eval();
    torch::NoGradGuard no_grad;
    auto x = torch::rand({3, 5, 3, 8, 8});
    const auto expected = twin->forward_fused(x.narrow(1, 0, 4).contiguous());
    EXPECT_LT(max_diff(forecast->forward(x), expected), 1e-5) << "chi " << chi;
    EXPECT_LT(max_diff(forecast->forward_fused(x), expected), 1e-5) << "chi " << chi;
  }
}

TEST(ForecastTest, ForwardFromGatesTakesTheInputStepsOnly) {
  auto net = perturbed_net(config_for(5, Objective::kForecast, 0.0), 23);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 5, 3, 8, 8});
  auto all = net->step_gates(x.flatten(0, 1));
  std::vector<torch::Tensor> four, five;
  for (auto& g : all) {
    auto w = g.view({2, 5, g.size(1), g.size(2), g.size(3)});
    five.push_back(w);
    four.push_back(w.narrow(1, 0, 4));
  }
  EXPECT_LT(max_diff(net->forward_from_gates(four), net->forward_fused(x)), 1e-5);
  EXPECT_THROW(net->forward_from_gates(five), c10::Error);
}

TEST(ForecastTest, ConfigChecks) {
  EXPECT_EQ(parse_objective("forecast"), Objective::kForecast);
  EXPECT_EQ(parse_objective("reconstruct"), Objective::kReconstruct);
  EXPECT_STREQ(to_string(Objective::kForecast), "forecast");
  EXPECT_STREQ(to_string(Objective::kReconstruct), "reconstruct");
  try {
    parse_objective("predict");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'predict'"), std::string::npos) << e.what();
  }
  // Forecasting needs at least one step to read.
  try {
    validate(config_for(1, Objective::kForecast, 0.0));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("forecast needs history >= 2"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(validate(config_for(1, Objective::kReconstruct, 0.0)));
  EXPECT_NO_THROW(validate(config_for(2, Objective::kForecast, 0.0)));
}

}  // namespace
}  // namespace mscred::model
