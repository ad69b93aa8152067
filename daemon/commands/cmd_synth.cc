// `mscred synth`: writes the MSCRED paper's synthetic data set (docs/pipeline.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "mscred/daemon/command_registry.h"
#include "mscred/pipeline/synth.h"

namespace {

using mscred::pipeline::SynthConfig;

struct SynthOptions {
  SynthConfig config;
  std::string out;
  std::string shock = "oscillation";
};

int run_synth(const SynthOptions& o) {
  SynthConfig c = o.config;
  if (o.shock == "oscillation") {
    c.shock = mscred::pipeline::ShockKind::kOscillation;
  } else if (o.shock == "flip") {
    c.shock = mscred::pipeline::ShockKind::kFlip;
  } else {
    throw std::invalid_argument("--shock must be oscillation or flip");
  }
  const mscred::pipeline::SynthData d = mscred::pipeline::generate_synth(c);
  const auto paths = mscred::pipeline::write_synth(d, o.out);

  std::printf("mscred synth: seed %llu, %zu series x %zu rows, lambda %g\n",
              static_cast<unsigned long long>(c.seed), c.series, c.length, c.lambda);
  std::printf("  train rows 0-%zu, validation %zu-%zu: train.csv (%zu rows)\n", c.train_end,
              c.train_end, c.valid_end, c.valid_end);
  std::printf(
      "  test rows %zu-%zu: test.csv (%zu rows), labels test_label.txt and "
      "interpretation_label.txt (rows relative to test.csv)\n",
      c.valid_end, c.length, c.length - c.valid_end);
  std::printf("  %zu anomalies (shock: %s, durations in samples):\n", d.anomalies.size(),
              o.shock.c_str());
  for (std::size_t k = 0; k < d.anomalies.size(); ++k) {
    const auto& a = d.anomalies[k];
    std::string causes;
    for (int i : a.causes) {
      causes += (causes.empty() ? "" : ",") + d.names[static_cast<std::size_t>(i)];
    }
    std::printf("    #%zu rows %zu-%zu (test.csv %zu-%zu), %zu samples, series %s\n", k + 1,
                a.begin, a.end, a.begin - c.valid_end, a.end - c.valid_end, a.length(),
                causes.c_str());
  }
  std::printf("  wrote");
  for (const auto& p : paths)
    std::printf(" %s", p.c_str());
  std::printf("\n");
  return 0;
}

std::function<int()> setup_synth(CLI::App& sub) {
  auto o = std::make_shared<SynthOptions>();
  SynthConfig& c = o->config;
  sub.add_option("--seed", c.seed, "Random seed")->capture_default_str();
  sub.add_option("--out", o->out, "Output directory (created)")->required();
  sub.add_option("--series", c.series, "Number of series")->capture_default_str();
  sub.add_option("--length", c.length, "Rows in all")->capture_default_str();
  sub.add_option("--train-end", c.train_end, "End of the training rows")->capture_default_str();
  sub.add_option("--valid-end", c.valid_end, "End of the validation rows, start of test")
      ->capture_default_str();
  sub.add_option("--lambda", c.lambda, "Noise factor")->capture_default_str();
  sub.add_option("--anomalies", c.anomalies, "Number of shock-wave anomalies in the test rows")
      ->capture_default_str();
  sub.add_option("--durations", c.durations, "Anomaly durations in samples, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  sub.add_option("--series-per-anomaly", c.series_per_anomaly, "Series hit by each anomaly")
      ->capture_default_str();
  sub.add_option("--lead-in", c.lead_in, "Test rows kept free of anomalies at the start")
      ->capture_default_str();
  sub.add_option("--shock", o->shock, "Shock wave: oscillation (+1,-1,...) or flip (negate)")
      ->capture_default_str();
  return [o] { return run_synth(*o); };
}

mscred::daemon::Command synth_command() {
  return {"synth", "Write the MSCRED paper's synthetic data (CSV + SMD-style labels)", setup_synth};
}

}  // namespace

MSCRED_REGISTER_COMMAND(synth_command());
