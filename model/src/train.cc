#include "mscred/model/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "fit.h"
#include "mscred/model/checkpoint.h"
#include "mscred/pipeline/entity_state.h"
#include "mscred_net.h"

namespace mscred::model {
namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Residuals of the newest step for every window, [count, scales, n, n] (either objective:
// the network reads what the objective says and its output is compared with step h-1).
std::vector<float> residuals_of(MscredNet& net, const WindowSet& set, std::size_t batch,
                                bool shared) {
  const auto& c = net->config();
  const auto matrix = static_cast<std::size_t>(c.scales * c.n * c.n);
  std::vector<float> out(set.count * matrix);
  torch::NoGradGuard no_grad;
  net->eval();
  for (std::size_t b = 0; b < set.count; b += batch) {
    const auto e = std::min(set.count, b + batch);
    auto x = torch::from_blob(const_cast<float*>(set.data.data() + b * set.window_size),
                              {static_cast<std::int64_t>(e - b), c.history, c.scales, c.n, c.n});
    auto r = (x.select(1, c.history - 1) - forward_batch(net, x, shared)).square().contiguous();
    std::copy(r.data_ptr<float>(), r.data_ptr<float>() + r.numel(), out.begin() + b * matrix);
  }
  return out;
}

}  // namespace

BatchOrder parse_batch_order(const std::string& name) {
  if (name == "shuffled") return BatchOrder::kShuffled;
  if (name == "contiguous") return BatchOrder::kContiguous;
  if (name == "auto") return BatchOrder::kAuto;
  throw std::invalid_argument("batch order '" + name + "': expected shuffled, contiguous or auto");
}

BatchOrder resolve_batch_order(BatchOrder order, Objective objective) {
  if (order != BatchOrder::kAuto) return order;
  return objective == Objective::kForecast ? BatchOrder::kContiguous : BatchOrder::kShuffled;
}

OneDnn parse_onednn(const std::string& name) {
  if (name == "auto") return OneDnn::kAuto;
  if (name == "on") return OneDnn::kOn;
  if (name == "off") return OneDnn::kOff;
  throw std::invalid_argument("onednn '" + name + "': expected auto, on or off");
}

const char* to_string(OneDnn mode) {
  return mode == OneDnn::kOn ? "on" : mode == OneDnn::kOff ? "off" : "auto";
}

bool onednn_in_effect(OneDnn mode, int intra_op_threads) {
  if (mode == OneDnn::kAuto) return intra_op_threads >= 2;
  return mode == OneDnn::kOn;
}

const char* to_string(BatchOrder order) {
  return order == BatchOrder::kContiguous ? "contiguous"
         : order == BatchOrder::kAuto     ? "auto"
                                          : "shuffled";
}

std::string data_digest(const std::vector<std::string>& sensors,
                        const std::vector<double>& values) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const void* p, std::size_t size) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < size; ++i) {
      h ^= b[i];
      h *= 1099511628211ULL;
    }
  };
  for (const auto& s : sensors)
    mix(s.data(), s.size() + 1);  // with the terminating 0
  mix(values.data(), values.size() * sizeof(double));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

TrainReport train(const std::vector<std::string>& sensors, const std::vector<double>& values,
                  const TrainOptions& o) {
  const std::size_t n = sensors.size();
  if (n < 4)
    throw std::invalid_argument("train: need at least 4 sensors, got " + std::to_string(n));
  if (values.size() % n != 0) throw std::invalid_argument("train: values not a multiple of n");
  if (!(o.validation_fraction > 0.0 && o.validation_fraction < 1.0)) {
    throw std::invalid_argument("train: validation_fraction must be in (0, 1)");
  }
  if (o.output_path.empty()) throw std::invalid_argument("train: no output path");
  pipeline::validate(o.signature);

  TrainReport report;
  report.rows = values.size() / n;
  ModelInfo& info = report.info;
  info.sensors = sensors;
  info.signature = o.signature;
  info.score = o.score;
  try {
    info.normaliser = pipeline::Normaliser::fit(values, n, pipeline::parse_norm_kind(o.normaliser));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("train: normaliser: ") + e.what());
  }
  info.net.n = static_cast<std::int64_t>(n);
  info.net.scales = static_cast<std::int64_t>(o.signature.scales.size());
  info.net.history = o.signature.history;
  info.net.lstm_kernel = o.lstm_kernel;
  info.net.chi = o.chi;
  info.net.objective = o.objective;
  validate(info.net);
  info.data_digest = data_digest(sensors, values);
  info.model_id = o.model_id + "-" + info.data_digest.substr(0, 8);
  info.created_utc = utc_now();

  // Windows through the streaming path. A window goes to training when its newest sample is
  // before the split row, to validation when its oldest sample is at or after it; windows that
  // straddle the split are dropped so validation never sees a training sample.
  const std::size_t split = static_cast<std::size_t>(
      std::floor(static_cast<double>(report.rows) * (1.0 - o.validation_fraction)));
  const int max_scale = *std::max_element(o.signature.scales.begin(), o.signature.scales.end());
  const std::size_t reach =
      static_cast<std::size_t>((o.signature.history - 1) * o.signature.step + max_scale - 1);
  pipeline::EntityState state(info.normaliser, o.signature);
  WindowSet train_set, val_set;
  train_set.window_size = val_set.window_size = state.window_size();
  std::vector<float> window(state.window_size());
  for (std::size_t r = 0; r < report.rows; ++r) {
    if (!state.push(static_cast<double>(r), values.data() + r * n)) continue;
    const auto newest = static_cast<std::size_t>(state.last_step_row());
    WindowSet* target = nullptr;
    if (newest < split) {
      target = &train_set;
    } else if (newest >= reach && newest - reach >= split) {
      target = &val_set;
    }
    if (target == nullptr) continue;
    state.window(window.data());
    target->data.insert(target->data.end(), window.begin(), window.end());
    ++target->count;
  }
  report.train_windows = train_set.count;
  report.validation_windows = val_set.count;
  if (train_set.count == 0 || val_set.count == 0) {
    throw std::invalid_argument(
        "train: " + std::to_string(report.rows) + " rows give " + std::to_string(train_set.count) +
        " training and " + std::to_string(val_set.count) +
        " validation windows; need at least one of each (more rows, a smaller "
        "signature.step/scales/history, or another validation_fraction)");
  }

  // Training.
  if (o.threads > 0) torch::set_num_threads(o.threads);
  torch::manual_seed(o.seed);
  MscredNet net(info.net);
  net->set_mkldnn(onednn_in_effect(o.onednn, torch::get_num_threads()));
  report.onednn = net->mkldnn();
  FitOptions fo;
  fo.learning_rate = o.learning_rate;
  fo.batch_size = o.batch_size;
  report.batch_order = resolve_batch_order(o.batch_order, o.objective);
  fo.batch_order = report.batch_order;
  fo.epochs = o.epochs;
  fo.patience = o.patience;
  fo.seed = o.seed;
  fo.max_seconds = o.max_seconds;
  fo.progress = o.progress;
  const auto fr = fit(net, train_set, val_set, fo);
  report.train_loss = fr.train_loss;
  report.val_loss = fr.val_loss;
  report.best_epoch = fr.best_epoch;
  report.stopped_early = fr.stopped_early;
  report.stopped_by_time = fr.stopped_by_time;
  report.train_windows_per_s = fr.train_windows_per_s;
  report.seconds = fr.seconds;

  // Thresholds from the validation windows' scores (the pipeline's scoring).
  const auto scales = o.signature.scales.size();
  const auto matrix = scales * n * n;
  const auto r = residuals_of(net, val_set, std::max<std::size_t>(1, o.batch_size),
                              report.batch_order == BatchOrder::kContiguous);
  std::vector<pipeline::StepScore> scores;
  for (std::size_t w = 0; w < val_set.count; ++w) {
    scores.push_back(pipeline::score_residual(r.data() + w * matrix, scales, n, o.score.theta));
    report.validation_max_score =
        std::max(report.validation_max_score, static_cast<double>(scores.back().total));
  }
  info.thresholds = pipeline::fit_thresholds(scores, o.score.beta);
  const auto problem = pipeline::check_score_config(info.score, info.thresholds, scales);
  if (!problem.empty()) throw std::invalid_argument("train: " + problem);

  nlohmann::json summary = {{"rows", report.rows},
                            {"train_windows", report.train_windows},
                            {"validation_windows", report.validation_windows},
                            {"epochs_run", report.train_loss.size()},
                            {"best_epoch", report.best_epoch},
                            {"stopped_early", report.stopped_early},
                            {"stopped_by_time", report.stopped_by_time},
                            {"lstm_kernel", o.lstm_kernel},
                            {"objective", to_string(o.objective)},
                            {"train_loss", report.train_loss},
                            {"val_loss", report.val_loss},
                            {"learning_rate", o.learning_rate},
                            {"batch_size", o.batch_size},
                            {"batch_order", to_string(report.batch_order)},
                            {"threads", torch::get_num_threads()},
                            {"onednn", report.onednn},
                            {"seed", o.seed},
                            {"validation_fraction", o.validation_fraction}};
  info.training_summary_json = summary.dump();

  CheckpointContents contents;
  contents.metadata_json = model_info_to_json(info);
  contents.tensors = export_parameters(net);
  write_checkpoint(o.output_path, contents);
  info.format_version = contents.format_version;
  return report;
}

}  // namespace mscred::model
