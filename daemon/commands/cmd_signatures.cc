// `mscred signatures`: signature matrices of a CSV file, one .npy per emitted step.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mscred/daemon/command_registry.h"
#include "mscred/pipeline/csv.h"
#include "mscred/pipeline/normaliser.h"
#include "mscred/pipeline/npy.h"
#include "mscred/pipeline/signature.h"

namespace {

namespace fs = std::filesystem;
using namespace mscred::pipeline;

struct SignaturesOptions {
  std::string input;
  std::string out;
  std::vector<int> scales{10, 30, 60};
  int step = 10;
  bool no_normalize = false;
  std::string norm = "minmax";
  std::string fit_on;
  std::string delimiter;
  std::string header = "auto";
  std::string time_column = "auto";
  std::vector<std::string> label_columns{"anomaly", "changepoint"};
  bool skip_bad_rows = false;
  bool allow_nan = false;
  std::string missing = "hold";
};

CsvOptions csv_options(const SignaturesOptions& o) {
  CsvOptions c;
  if (o.delimiter == "\\t" || o.delimiter == "tab") {
    c.delimiter = '\t';
  } else if (o.delimiter.size() == 1) {
    c.delimiter = o.delimiter[0];
  } else if (!o.delimiter.empty() && o.delimiter != "auto") {
    throw std::invalid_argument("--delimiter must be one character, tab or auto");
  }
  if (o.header == "yes") {
    c.header = HeaderMode::kYes;
  } else if (o.header == "no") {
    c.header = HeaderMode::kNo;
  } else if (o.header != "auto") {
    throw std::invalid_argument("--header must be auto, yes or no");
  }
  c.set_time_column(o.time_column);
  c.label_columns = o.label_columns;
  c.bad_rows = o.skip_bad_rows ? BadRowPolicy::kSkip : BadRowPolicy::kStop;
  c.allow_nan = o.allow_nan;
  return c;
}

void describe(const CsvTable& t) {
  std::string delim = t.delimiter == '\t' ? "tab" : std::string(1, t.delimiter);
  std::printf("  %s: %zu rows x %zu sensors (delimiter '%s', %s, %s", t.source.c_str(), t.rows(),
              t.cols(), delim.c_str(), t.has_header ? "header" : "no header",
              t.time_name.empty() ? "no time column" : ("time column " + t.time_name).c_str());
  if (!t.label_names.empty()) {
    std::string l;
    for (const auto& n : t.label_names)
      l += (l.empty() ? "" : ",") + n;
    std::printf(", label columns %s", l.c_str());
  }
  std::printf(")\n");
  if (t.skipped_rows > 0) {
    std::printf("  skipped %zu bad rows, first: %s\n", t.skipped_rows,
                t.skipped_reasons.front().c_str());
  }
}

int run_signatures(const SignaturesOptions& o) {
  SignatureConfig config;
  config.scales = o.scales;
  config.step = o.step;
  config.history = 1;
  if (o.missing == "hold") {
    config.missing = MissingPolicy::kHoldLast;
  } else if (o.missing == "invalid") {
    config.missing = MissingPolicy::kInvalidStep;
  } else {
    throw std::invalid_argument("--missing must be hold or invalid");
  }
  validate(config);

  const CsvOptions copt = csv_options(o);
  CsvTable table = read_csv(o.input, copt);
  if (table.cols() == 0) throw std::runtime_error(o.input + ": no sensor columns");
  std::printf("mscred signatures:\n");
  describe(table);

  const std::size_t n = table.cols();
  if (o.no_normalize) {
    std::printf("  raw values (--no-normalize)\n");
  } else {
    const NormKind kind = parse_norm_kind(o.norm);
    Normaliser norm(n, kind);
    if (o.fit_on.empty()) {
      norm = Normaliser::fit(table.values, n, kind);
      std::printf("  normalised: %s fitted on the input file itself (%zu rows)", to_string(kind),
                  table.rows());
    } else {
      const CsvTable fit = read_csv(o.fit_on, copt);
      if (fit.cols() != n) {
        throw std::runtime_error(o.fit_on + " has " + std::to_string(fit.cols()) +
                                 " sensors, the input " + std::to_string(n));
      }
      norm = Normaliser::fit(fit.values, n, kind);
      std::printf("  normalised: %s fitted on %s (%zu rows)", to_string(kind), o.fit_on.c_str(),
                  fit.rows());
    }
    std::printf(", %zu constant sensors\n", norm.constant_sensors().size());
    norm.apply_rows(table.values.data(), table.rows());
  }

  const std::size_t w_max =
      static_cast<std::size_t>(*std::max_element(config.scales.begin(), config.scales.end()));
  if (table.rows() < w_max) {
    throw std::runtime_error(o.input + ": " + std::to_string(table.rows()) +
                             " rows, fewer than the longest window (" + std::to_string(w_max) +
                             "): no step");
  }
  if (!o.out.empty()) fs::create_directories(o.out);
  const int width = static_cast<int>(std::to_string(table.rows() - 1).size());
  const std::vector<std::size_t> shape = {config.scales.size(), n, n};

  SignatureState state(n, config);
  std::uint64_t first_row = 0;
  std::size_t written = 0;
  std::ofstream index;
  if (!o.out.empty()) {
    index.open(fs::path(o.out) / "steps.csv");
    index << "file,row,valid\n";
  }
  char name[64];
  for (std::size_t r = 0; r < table.rows(); ++r) {
    if (!state.push(table.row(r))) continue;
    if (state.steps() == 1) first_row = state.last_step_row();
    if (o.out.empty()) continue;
    std::snprintf(name, sizeof name, "sig_%0*llu.npy", width,
                  static_cast<unsigned long long>(state.last_step_row()));
    write_npy((fs::path(o.out) / name).string(), state.latest().data(), shape);
    index << name << ',' << state.last_step_row() << ',' << (state.last_step_valid() ? 1 : 0)
          << '\n';
    ++written;
  }
  if (!o.out.empty()) {
    std::ofstream sensors(fs::path(o.out) / "sensors.txt");
    for (const auto& s : table.sensor_names)
      sensors << s << '\n';
  }

  const SignatureCounters& k = state.counters();
  std::string scales;
  for (int w : config.scales)
    scales += (scales.empty() ? "" : ",") + std::to_string(w);
  std::printf("  scales %s, step %d: %llu steps emitted (%llu invalid), rows %llu to %llu\n",
              scales.c_str(), config.step, static_cast<unsigned long long>(k.steps_emitted),
              static_cast<unsigned long long>(k.steps_invalid),
              static_cast<unsigned long long>(first_row),
              static_cast<unsigned long long>(state.last_step_row()));
  std::printf("  missing values: %llu (%llu held at the last value)\n",
              static_cast<unsigned long long>(k.values_missing),
              static_cast<unsigned long long>(k.values_held));
  std::printf("  last step (row %llu), n = %zu:\n",
              static_cast<unsigned long long>(state.last_step_row()), n);
  const std::vector<double>& last = state.latest_double();
  for (std::size_t s = 0; s < config.scales.size(); ++s) {
    double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t e = 0; e < n * n; ++e) {
      const double v = last[s * n * n + e];
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    std::printf("    scale %3d: mean %.6g  min %.6g  max %.6g\n", config.scales[s],
                sum / static_cast<double>(n * n), lo, hi);
  }
  if (!o.out.empty()) {
    std::printf(
        "  wrote %zu files sig_<row>.npy (float32 [%zu, %zu, %zu]), steps.csv and "
        "sensors.txt to %s\n",
        written, shape[0], n, n, o.out.c_str());
  }
  return 0;
}

std::function<int()> setup_signatures(CLI::App& sub) {
  auto o = std::make_shared<SignaturesOptions>();
  sub.add_option("--input", o->input, "CSV file (SKAB, SMD or mscred synth layout)")
      ->required()
      ->check(CLI::ExistingFile);
  sub.add_option("--out", o->out, "Directory for sig_<row>.npy files (omit: summary only)");
  sub.add_option("--scales", o->scales, "Window lengths, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  sub.add_option("--step", o->step, "Samples between steps")->capture_default_str();
  sub.add_flag("--no-normalize", o->no_normalize, "Use the raw values");
  sub.add_option("--norm", o->norm, "Normalisation: minmax or zscore")->capture_default_str();
  sub.add_option("--fit-on", o->fit_on,
                 "Fit the normaliser on this file (e.g. the training file) instead of the input")
      ->check(CLI::ExistingFile);
  sub.add_option("--delimiter", o->delimiter, "Field delimiter (default: detected)");
  sub.add_option("--header", o->header, "auto, yes or no")->capture_default_str();
  sub.add_option("--time-column", o->time_column, "auto, none, a name or a 0-based index")
      ->capture_default_str();
  sub.add_option("--label-columns", o->label_columns, "Columns kept out of the sensors")
      ->delimiter(',')
      ->capture_default_str();
  sub.add_flag("--skip-bad-rows", o->skip_bad_rows, "Skip and count bad rows instead of stopping");
  sub.add_flag("--allow-nan", o->allow_nan, "Accept NaN / empty fields as missing values");
  sub.add_option("--missing", o->missing, "Missing values: hold (last value) or invalid (step)")
      ->capture_default_str();
  return [o] { return run_signatures(*o); };
}

mscred::daemon::Command signatures_command() {
  return {"signatures", "Write the signature matrices of a CSV file as .npy files",
          setup_signatures};
}

}  // namespace

MSCRED_REGISTER_COMMAND(signatures_command());
