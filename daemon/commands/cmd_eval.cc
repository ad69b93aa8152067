// `mscred eval`: replays a labelled test file through the daemon's streaming path
// (pipeline::EntityState -> window -> model::Detector::score_stream, the daemon's cached
// path: a batch holds consecutive windows of the file's one stream, whose shared steps are
// encoded once), writes one CSV line per step and prints the detection and root-cause metrics
// of pipeline/evaluation.h. `--plain` scores every window in full (Detector::score) instead.
//
// Row rule (as in pipeline::judging_steps): step t scores the residual of its newest signature
// step, which summarises rows (row_t - max_window, row_t]; each row is judged by the FIRST step
// whose signature covers it. Rows no step covers (the warm-up at the start, the tail after the
// last step) count as predicted normal and are reported as "unjudged".
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "mscred/daemon/blas_threads.h"
#include "mscred/daemon/command_registry.h"
#include "mscred/model/detector.h"
#include "mscred/pipeline/csv.h"
#include "mscred/pipeline/entity_state.h"
#include "mscred/pipeline/evaluation.h"
#include "mscred/pipeline/labels.h"
#include "mscred/pipeline/scoring.h"

namespace {

namespace pl = mscred::pipeline;

struct EvalCli {
  std::string model;
  std::string data;
  std::string labels;
  std::string interpretation;
  std::string label_column = "anomaly";
  std::string out;
  std::string summary_json;
  std::string time_column = "auto";
  std::string device = "auto";
  int threads = 1;
  std::string onednn = "auto";
  std::size_t batch = 32;
  std::size_t max_rows = 0;
  bool plain = false;  //!< Detector::score (every window in full) instead of score_stream
  //! Overrides the checkpoint's scoring.detect_scale (kKeepDetectScale = keep it). The
  //! thresholds stay the validation-derived ones stored for every scale.
  int detect_scale = kKeepDetectScale;
  static constexpr int kKeepDetectScale = -100;
};

// Labels for the rows of `table`: SMD files when given, else the table's label column.
bool load_labels(const EvalCli& o, const pl::CsvTable& table, std::size_t rows, pl::Labels* out) {
  if (!o.labels.empty()) {
    *out = pl::read_smd_labels(o.labels, o.interpretation, table.cols());
  } else if (const auto* column = table.label(o.label_column)) {
    *out = pl::labels_from_column(*column);
  } else {
    return false;
  }
  if (out->point.size() < rows) {
    throw std::runtime_error("labels have " + std::to_string(out->point.size()) +
                             " rows, the data " + std::to_string(rows));
  }
  out->point.resize(rows);
  std::vector<pl::Segment> kept;
  for (auto s : out->segments) {
    if (s.begin >= rows) continue;
    s.end = std::min(s.end, rows);
    kept.push_back(s);
  }
  out->segments = kept;
  return true;
}

std::string sensor_list(const std::vector<pl::SensorRank>& ranks,
                        const std::vector<std::string>& names) {
  std::string s;
  for (const auto& r : ranks) {
    s += (s.empty() ? "" : ";") + names[static_cast<std::size_t>(r.sensor)];
  }
  return s;
}

std::string pair_list(const std::vector<pl::PairRank>& pairs,
                      const std::vector<std::string>& names) {
  std::string s;
  for (const auto& p : pairs) {
    s += (s.empty() ? "" : ";") + names[static_cast<std::size_t>(p.i)] + "|" +
         names[static_cast<std::size_t>(p.j)];
  }
  return s;
}

int run_eval(const EvalCli& o) {
  const auto blas = mscred::daemon::pin_blas_threads(o.threads);
  std::fprintf(stderr, "mscred eval: %s\n", blas.describe().c_str());
  pl::CsvOptions csv;
  csv.set_time_column(o.time_column);
  csv.allow_nan = true;
  auto table = pl::read_csv(o.data, csv);
  std::size_t rows = table.rows();
  if (o.max_rows > 0) rows = std::min(rows, o.max_rows);

  const auto onednn = mscred::model::parse_onednn(o.onednn);  // CLI11 checked the value
  auto det =
      mscred::model::Detector::load(o.model, {o.device, o.threads, onednn}, table.sensor_names);
  std::fprintf(stderr, "mscred eval: device %s, convolutions %s\n", det->device().c_str(),
               det->onednn() ? "oneDNN" : "ATen's choice");
  const auto& info = det->info();
  const auto n = info.sensors.size();
  const auto scales = info.signature.scales.size();
  pl::ScoreConfig score_config = info.score;
  const bool override_scale = o.detect_scale != EvalCli::kKeepDetectScale;
  if (override_scale) {
    score_config.detect_scale = o.detect_scale;
    if (const auto problem = pl::check_score_config(score_config, info.thresholds, scales);
        !problem.empty()) {
      throw std::runtime_error("--detect-scale: " + problem);
    }
  }
  const int cause_scale = score_config.cause_scale == pl::kCauseScaleFollowsDetect
                              ? score_config.detect_scale
                              : score_config.cause_scale;
  if (const auto unusable = pl::unusable_thresholds(info.thresholds, scales, n);
      !unusable.empty()) {
    std::fprintf(stderr, "mscred eval: WARNING: %s\n",
                 pl::describe_unusable_thresholds(unusable, info.signature.scales).c_str());
  }

  std::ofstream steps_csv;
  if (!o.out.empty()) {
    steps_csv.open(o.out);
    if (!steps_csv) throw std::runtime_error("cannot write " + o.out);
    steps_csv << "step,row,time,detected,severity,score,total";
    for (auto w : info.signature.scales)
      steps_csv << ",count_w" << w;
    steps_csv << ",top_sensors,top_pairs\n";
  }

  // Replay: windows are collected as the stream produces them and scored in batches of
  // --batch (the daemon batches across entities the same way); results keep step order.
  pl::EntityState state(info.normaliser, info.signature);
  pl::StepResults results;
  std::vector<float> windows;
  std::vector<std::size_t> pending_rows;
  std::vector<float> residuals;
  // The file is one stream. Windows after a gap (missing data, invalid steps) do not match
  // the cached steps byte for byte and are computed in full.
  constexpr std::uint64_t kStreamId = 1;
  std::vector<std::uint64_t> stream_ids;
  double infer_s = 0.0;
  auto flush = [&]() {
    if (pending_rows.empty()) return;
    const auto t0 = std::chrono::steady_clock::now();
    stream_ids.assign(pending_rows.size(), kStreamId);
    auto detections = o.plain ? det->score(windows.data(), pending_rows.size(), &residuals)
                              : det->score_stream(windows.data(), pending_rows.size(),
                                                  stream_ids.data(), &residuals);
    infer_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (override_scale) {
      for (std::size_t b = 0; b < detections.size(); ++b) {
        pl::detect_into(residuals.data() + b * det->matrix_size(), scales, n, score_config,
                        info.thresholds, &detections[b]);
      }
    }
    for (std::size_t b = 0; b < detections.size(); ++b) {
      const auto& d = detections[b];
      const std::size_t row = pending_rows[b];
      results.add(row, d, score_config.detect_scale,
                  pl::rank_sensors(residuals.data() + b * det->matrix_size(), scales, n,
                                   cause_scale, info.score.theta));
      if (steps_csv.is_open()) {
        steps_csv << results.row.size() - 1 << ',' << row << ','
                  << (table.time.empty() ? std::to_string(row) : table.time[row]) << ','
                  << int(d.detected) << ',' << pl::to_string(d.severity) << ','
                  << results.score.back() << ',' << d.score.total;
        for (auto c : d.score.count)
          steps_csv << ',' << c;
        steps_csv << ',' << sensor_list(d.top_sensors, info.sensors) << ','
                  << pair_list(d.top_pairs, info.sensors) << '\n';
      }
    }
    windows.clear();
    pending_rows.clear();
  };
  std::vector<float> window(state.window_size());
  for (std::size_t r = 0; r < rows; ++r) {
    if (!state.push(static_cast<double>(r), table.row(r))) continue;
    state.window(window.data());
    windows.insert(windows.end(), window.begin(), window.end());
    pending_rows.push_back(static_cast<std::size_t>(state.last_step_row()));
    if (pending_rows.size() >= std::max<std::size_t>(1, o.batch)) flush();
  }
  flush();

  const std::size_t steps = results.row.size();
  std::size_t detected = 0;
  for (auto d : results.detected)
    detected += d;
  std::printf("mscred eval: model %s (objective %s) on %s (%s)\n", info.model_id.c_str(),
              mscred::model::to_string(info.net.objective), o.data.c_str(), det->device().c_str());
  std::printf(
      "  %zu rows, %zu steps scored, %zu detecting; %llu steps skipped (warm-up or "
      "missing data)\n",
      rows, steps, detected, static_cast<unsigned long long>(state.steps_skipped()));
  const auto cache = det->stream_stats();
  std::printf("  inference %.2f windows/s (batch %zu, %s",
              infer_s > 0 ? double(steps) / infer_s : 0.0, o.batch,
              o.plain ? "plain: every window in full)\n" : "shared steps: ");
  if (!o.plain) {
    std::printf("%llu windows reused steps, %llu computed in full)\n",
                static_cast<unsigned long long>(cache.hits),
                static_cast<unsigned long long>(cache.misses));
  }

  nlohmann::json summary = {
      {"model", info.model_id},
      {"objective", mscred::model::to_string(info.net.objective)},
      {"data", o.data},
      {"rows", rows},
      {"steps", steps},
      {"detecting_steps", detected},
      {"detect_scale", score_config.detect_scale},
      {"thresholds", info.thresholds.tau},
      {"inference_windows_per_s", infer_s > 0 ? double(steps) / infer_s : 0.0}};
  pl::Labels labels;
  if (load_labels(o, table, rows, &labels)) {
    pl::EvaluationOptions eo;
    const int max_scale =
        *std::max_element(info.signature.scales.begin(), info.signature.scales.end());
    eo.max_window = static_cast<std::size_t>(max_scale);
    eo.tolerance_rows = eo.max_window;
    eo.n_sensors = n;
    eo.top_k = info.score.top_k;
    const auto rep = pl::evaluate(results, labels.point, labels.segments, eo);
    std::printf(
        "  rows judged by the first step whose window covers them; %zu unjudged rows "
        "count as normal\n",
        rep.unjudged_rows);
    std::printf("  point-wise        P %.3f  R %.3f  F1 %.3f  (tp %zu fp %zu fn %zu)\n",
                rep.point.precision, rep.point.recall, rep.point.f1, rep.point.tp, rep.point.fp,
                rep.point.fn);
    std::printf("  point-adjusted    P %.3f  R %.3f  F1 %.3f\n", rep.point_adjusted.precision,
                rep.point_adjusted.recall, rep.point_adjusted.f1);
    std::printf(
        "  event-level       P %.3f  R %.3f  F1 %.3f  (%zu/%zu segments, %zu/%zu "
        "events true)\n",
        rep.event.precision, rep.event.recall, rep.event.f1, rep.event.segments_detected,
        rep.event.segments, rep.event.events_true, rep.event.events);
    std::printf(
        "  ORACLE best point-wise F1 %.3f at score >= %g (threshold chosen on the test "
        "labels: an upper bound, not a result)\n",
        rep.best_f1_oracle.metrics.f1, rep.best_f1_oracle.threshold);
    summary["point"] = {
        {"precision", rep.point.precision}, {"recall", rep.point.recall}, {"f1", rep.point.f1}};
    summary["point_adjusted"] = {{"precision", rep.point_adjusted.precision},
                                 {"recall", rep.point_adjusted.recall},
                                 {"f1", rep.point_adjusted.f1}};
    summary["event"] = {{"precision", rep.event.precision},
                        {"recall", rep.event.recall},
                        {"f1", rep.event.f1},
                        {"segments", rep.event.segments},
                        {"segments_detected", rep.event.segments_detected}};
    summary["oracle_best_f1"] = rep.best_f1_oracle.metrics.f1;
    if (rep.hit_rates.segments_scored > 0) {
      std::printf(
          "  root cause        HitRate@100%% %.3f  HitRate@150%% %.3f over %zu segments "
          "(%zu without steps)\n",
          rep.hit_rates.at_100, rep.hit_rates.at_150, rep.hit_rates.segments_scored,
          rep.hit_rates.segments_without_steps);
      std::printf("  root cause        top-%zu recall %.3f over %zu detected segments\n", eo.top_k,
                  rep.cause_recall.recall, rep.cause_recall.segments_scored);
      summary["hit_rate_100"] = rep.hit_rates.at_100;
      summary["hit_rate_150"] = rep.hit_rates.at_150;
      summary["top_k_cause_recall"] = rep.cause_recall.recall;
    } else {
      std::printf("  root cause        no segment cause labels: HitRate not computed\n");
    }
  } else {
    std::printf("  no labels (--labels, or a '%s' column): metrics not computed\n",
                o.label_column.c_str());
  }
  if (!o.summary_json.empty()) std::ofstream(o.summary_json) << summary.dump(1) << "\n";
  return 0;
}

std::function<int()> setup_eval(CLI::App& sub) {
  auto o = std::make_shared<EvalCli>();
  sub.add_option("--model", o->model, "Checkpoint written by mscred train")->required();
  sub.add_option("--data", o->data, "Test CSV or SMD .txt file")->required();
  sub.add_option("--labels", o->labels, "SMD test_label file (one 0/1 per row)");
  sub.add_option("--interpretation", o->interpretation, "SMD interpretation_label file");
  sub.add_option("--label-column", o->label_column, "Label column when --labels is absent")
      ->capture_default_str();
  sub.add_option("--out", o->out, "Per-step CSV to write");
  sub.add_option("--summary-json", o->summary_json, "Metrics as JSON");
  sub.add_option("--time-column", o->time_column, "auto, none, an index or a name")
      ->capture_default_str();
  sub.add_option("--device", o->device, "cpu, cuda:N or auto")->capture_default_str();
  sub.add_option("--threads", o->threads, "LibTorch intra-op threads")->capture_default_str();
  sub.add_option("--onednn", o->onednn,
                 "CPU convolutions through oneDNN: auto (when --threads >= 2), on or off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  sub.add_option("--batch", o->batch, "Windows per inference batch")->capture_default_str();
  sub.add_option("--detect-scale", o->detect_scale,
                 "Score deciding detection instead of the checkpoint's: a scale index, -1 = "
                 "total (thresholds stay the validation-derived ones)");
  sub.add_option("--max-rows", o->max_rows, "Replay only the first N rows (0 = all)")
      ->capture_default_str();
  sub.add_flag("--plain", o->plain,
               "Compute every window in full (no shared steps); same results within float "
               "tolerance, slower");
  return [o]() { return run_eval(*o); };
}

MSCRED_REGISTER_COMMAND((mscred::daemon::Command{
    "eval", "Replay a labelled test file through the streaming path and report metrics",
    setup_eval}));

}  // namespace
