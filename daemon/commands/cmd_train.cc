// `mscred train`: trains an MSCRED model on a CSV (or SMD .txt) file and writes a checkpoint.
// Options come from an optional YAML file (--config) and from flags; a flag given on the
// command line wins over the same key in the file.
#include <unistd.h>
#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "mscred/daemon/blas_threads.h"
#include "mscred/daemon/command_registry.h"
#include "mscred/model/train.h"
#include "mscred/pipeline/csv.h"
#include "mscred/pipeline/scoring.h"

namespace {

using mscred::model::FitProgress;
using mscred::model::TrainOptions;

struct TrainCli {
  TrainOptions train;
  std::string data;
  std::string config;
  std::string time_column = "auto";
  std::string missing = "hold_last";
  std::string objective = "forecast";
  std::string batch_order = "auto";
  std::string onednn = "auto";
  std::size_t max_rows = 0;
};

// The YAML keys, equal to the flag names without the leading dashes.
void apply_yaml(const std::string& path, TrainCli& o, const CLI::App& sub) {
  const YAML::Node root = YAML::LoadFile(path);
  if (!root.IsMap()) throw std::runtime_error(path + ": expected a mapping of train options");
  static const std::set<std::string> kKeys = {
      "data",     "out",         "model-id", "normaliser",   "scales",      "step",  "history",
      "missing",  "kernel",      "chi",      "val-fraction", "lr",          "batch", "epochs",
      "patience", "seed",        "threads",  "max-seconds",  "theta",       "beta",  "detect-scale",
      "top-k",    "time-column", "max-rows", "objective",    "batch-order", "onednn"};
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    const auto line = std::to_string(kv.first.Mark().line + 1);
    if (!kKeys.count(key)) throw std::runtime_error(path + ":" + line + ": unknown key " + key);
    if (sub.count("--" + key) > 0) continue;  // the flag wins
    try {
      const auto& v = kv.second;
      auto& t = o.train;
      if (key == "data") o.data = v.as<std::string>();
      if (key == "out") t.output_path = v.as<std::string>();
      if (key == "model-id") t.model_id = v.as<std::string>();
      if (key == "normaliser") t.normaliser = v.as<std::string>();
      if (key == "scales") t.signature.scales = v.as<std::vector<int>>();
      if (key == "step") t.signature.step = v.as<int>();
      if (key == "history") t.signature.history = v.as<int>();
      if (key == "missing") o.missing = v.as<std::string>();
      if (key == "batch-order") o.batch_order = v.as<std::string>();
      if (key == "onednn") o.onednn = v.as<std::string>();
      if (key == "kernel") t.lstm_kernel = v.as<std::int64_t>();
      if (key == "chi") t.chi = v.as<double>();
      if (key == "val-fraction") t.validation_fraction = v.as<double>();
      if (key == "lr") t.learning_rate = v.as<double>();
      if (key == "batch") t.batch_size = v.as<std::size_t>();
      if (key == "epochs") t.epochs = v.as<int>();
      if (key == "patience") t.patience = v.as<int>();
      if (key == "seed") t.seed = v.as<std::uint64_t>();
      if (key == "threads") t.threads = v.as<int>();
      if (key == "max-seconds") t.max_seconds = v.as<double>();
      if (key == "theta") t.score.theta = v.as<double>();
      if (key == "beta") t.score.beta = v.as<double>();
      if (key == "detect-scale") t.score.detect_scale = v.as<int>();
      if (key == "top-k") t.score.top_k = v.as<std::size_t>();
      if (key == "time-column") o.time_column = v.as<std::string>();
      if (key == "max-rows") o.max_rows = v.as<std::size_t>();
      if (key == "objective") o.objective = v.as<std::string>();
    } catch (const YAML::Exception& e) {
      throw std::runtime_error(path + ":" + line + ": key " + key + ": " + e.msg);
    }
  }
}

// Progress on a terminal: one line rewritten in place; otherwise a log line per epoch.
std::function<void(const FitProgress&)> progress_printer() {
  const bool tty = isatty(fileno(stderr)) != 0;
  return [tty](const FitProgress& p) {
    if (!p.epoch_end && !tty) return;
    char line[256];
    std::snprintf(
        line, sizeof(line),
        "epoch %d/%d  %zu/%zu windows  loss %.6f%s  %.1f windows/s  %.0f s left", p.epoch, p.epochs,
        p.windows_done, p.windows_total, p.train_loss,
        p.epoch_end && p.val_loss >= 0 ? ("  val " + std::to_string(p.val_loss)).c_str() : "",
        p.windows_per_s, p.seconds_left);
    if (tty) {
      std::fprintf(stderr, "\r%-110s%s", line, p.epoch_end ? "\n" : "");
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  };
}

// parse(value) with its std::invalid_argument turned into an error naming the flag.
template <typename Parse>
auto parse_flag(const char* flag, const std::string& value, Parse parse) {
  try {
    return parse(value);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string(flag) + ": " + e.what());
  }
}

int run_train(TrainCli& o, const CLI::App& sub) {
  if (!o.config.empty()) apply_yaml(o.config, o, sub);
  if (o.data.empty()) throw std::runtime_error("--data (or key data in --config) is required");
  if (o.train.output_path.empty()) throw std::runtime_error("--out (or key out) is required");
  o.train.batch_order =
      parse_flag("--batch-order", o.batch_order, mscred::model::parse_batch_order);
  o.train.onednn = parse_flag("--onednn", o.onednn, mscred::model::parse_onednn);
  o.train.objective = parse_flag("--objective", o.objective, mscred::model::parse_objective);
  if (o.missing == "hold_last") {
    o.train.signature.missing = mscred::pipeline::MissingPolicy::kHoldLast;
  } else if (o.missing == "invalid_step") {
    o.train.signature.missing = mscred::pipeline::MissingPolicy::kInvalidStep;
  } else {
    throw std::runtime_error("--missing must be hold_last or invalid_step");
  }

  mscred::pipeline::CsvOptions csv;
  csv.set_time_column(o.time_column);
  csv.allow_nan = true;  // missing values are the signature pipeline's business
  auto table = mscred::pipeline::read_csv(o.data, csv);
  if (o.max_rows > 0 && table.rows() > o.max_rows) {
    table.values.resize(o.max_rows * table.cols());
  }
  const std::size_t rows = table.values.size() / std::max<std::size_t>(1, table.cols());
  std::fprintf(stderr, "mscred train: %s: %zu rows x %zu sensors\n", o.data.c_str(), rows,
               table.cols());

  // Before the first BLAS call: OpenBLAS's pool sized like LibTorch's (blas_threads.h).
  const auto blas = mscred::daemon::pin_blas_threads(o.train.threads);
  std::fprintf(stderr, "mscred train: %s\n", blas.describe().c_str());

  o.train.progress = progress_printer();
  const auto r = mscred::model::train(table.sensor_names, table.values, o.train);

  std::printf("model %s written to %s\n", r.info.model_id.c_str(), o.train.output_path.c_str());
  std::printf("  objective %s (the network reads %lld of the %lld steps of a window)\n",
              mscred::model::to_string(r.info.net.objective),
              static_cast<long long>(mscred::model::input_steps(r.info.net)),
              static_cast<long long>(r.info.net.history));
  std::printf(
      "  batch order %s%s\n", mscred::model::to_string(r.batch_order),
      o.train.batch_order == mscred::model::BatchOrder::kAuto ? " (--batch-order auto)" : "");
  std::printf("  windows: %zu training, %zu validation; epochs run %zu (best %d%s)\n",
              r.train_windows, r.validation_windows, r.train_loss.size(), r.best_epoch,
              r.stopped_early     ? ", stopped early"
              : r.stopped_by_time ? ", stopped by --max-seconds"
                                  : "");
  if (!r.val_loss.empty()) {
    std::printf("  best validation loss %.6g\n", r.val_loss[std::size_t(r.best_epoch - 1)]);
  }
  std::printf("  training %.2f windows/s over %.1f s (convolutions: %s)\n", r.train_windows_per_s,
              r.seconds, r.onednn ? "oneDNN" : "ATen's choice");
  std::printf("  thresholds (beta %.3g):", r.info.score.beta);
  for (std::size_t s = 0; s < r.info.thresholds.tau.size(); ++s) {
    std::printf(" scale %d: %.1f", r.info.signature.scales[s], r.info.thresholds.tau[s]);
  }
  std::printf(", total %.1f\n", r.info.thresholds.tau_total);
  const auto n = r.info.sensors.size();
  const auto unusable =
      mscred::pipeline::unusable_thresholds(r.info.thresholds, r.info.signature.scales.size(), n);
  if (!unusable.empty()) {
    // The checkpoint is still written (it may be wanted for inspection), but say loudly that
    // a model whose detection threshold cannot be exceeded will never alert.
    bool detect_unusable = false;
    for (const auto& u : unusable)
      detect_unusable = detect_unusable || u.scale == r.info.score.detect_scale;
    std::fprintf(
        stderr, "mscred train: WARNING: %s%s\n",
        mscred::pipeline::describe_unusable_thresholds(unusable, r.info.signature.scales).c_str(),
        detect_unusable ? " (this includes the detection score: the model will never "
                          "alert)"
                        : "");
  }
  return 0;
}

std::function<int()> setup_train(CLI::App& sub) {
  auto o = std::make_shared<TrainCli>();
  auto& t = o->train;
  sub.add_option("--config", o->config, "YAML file with the options below as keys");
  sub.add_option("--data", o->data, "Training CSV (header optional) or SMD .txt file");
  sub.add_option("--out", t.output_path, "Checkpoint file to write");
  sub.add_option("--model-id", t.model_id, "Model name (a data digest is appended)")
      ->capture_default_str();
  sub.add_option("--time-column", o->time_column, "auto, none, an index or a name")
      ->capture_default_str();
  sub.add_option("--max-rows", o->max_rows, "Use only the first N rows (0 = all)")
      ->capture_default_str();
  sub.add_option("--normaliser", t.normaliser, "minmax or zscore")->capture_default_str();
  sub.add_option("--scales", t.signature.scales, "Signature windows, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  sub.add_option("--step", t.signature.step, "Samples between steps")->capture_default_str();
  sub.add_option("--history", t.signature.history, "Steps per window (h)")->capture_default_str();
  sub.add_option("--missing", o->missing, "hold_last or invalid_step")->capture_default_str();
  sub.add_option("--kernel", t.lstm_kernel, "ConvLSTM kernel size (2 or 3)")->capture_default_str();
  sub.add_option("--chi", t.chi, "Attention temperature (0 = the number of steps read)")
      ->capture_default_str();
  sub.add_option("--objective", o->objective,
                 "forecast (the newest step predicted from the h-1 before it; the default, "
                 "chosen by the A/B in docs/model.md) or reconstruct (the newest step from all "
                 "h steps, the paper's form)")
      ->capture_default_str();
  sub.add_option("--val-fraction", t.validation_fraction, "Tail of the series held out")
      ->capture_default_str();
  sub.add_option("--lr", t.learning_rate, "Adam learning rate")->capture_default_str();
  sub.add_option("--batch", t.batch_size, "Mini-batch size")->capture_default_str();
  sub.add_option("--batch-order", o->batch_order,
                 "shuffled (random windows per batch), contiguous (consecutive windows per "
                 "batch, batches shuffled; shared steps encoded once: faster) or auto "
                 "(contiguous for --objective forecast, shuffled for reconstruct)")
      ->capture_default_str();
  sub.add_option("--epochs", t.epochs, "Maximum epochs")->capture_default_str();
  sub.add_option("--patience", t.patience, "Early stop after N epochs without improvement")
      ->capture_default_str();
  sub.add_option("--seed", t.seed, "Random seed")->capture_default_str();
  sub.add_option("--threads", t.threads, "LibTorch intra-op threads")->capture_default_str();
  sub.add_option("--onednn", o->onednn,
                 "CPU convolutions through oneDNN: auto (when --threads >= 2), on or off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  sub.add_option("--max-seconds", t.max_seconds,
                 "Training time budget: no epoch starts that would end past it (0 = none)")
      ->capture_default_str();
  sub.add_option("--theta", t.score.theta, "Residual above which an element counts")
      ->capture_default_str();
  sub.add_option("--beta", t.score.beta, "tau = beta * max validation score")
      ->capture_default_str();
  sub.add_option("--detect-scale", t.score.detect_scale,
                 "Scale index deciding detection (-1 = total)")
      ->capture_default_str();
  sub.add_option("--top-k", t.score.top_k, "Sensors and pairs reported per detection")
      ->capture_default_str();
  return [o, &sub]() { return run_train(*o, sub); };
}

MSCRED_REGISTER_COMMAND((mscred::daemon::Command{
    "train", "Train an MSCRED model on a CSV file and write a checkpoint", setup_train}));

}  // namespace
