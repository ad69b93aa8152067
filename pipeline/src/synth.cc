#include "mscred/pipeline/synth.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "mscred/pipeline/csv.h"

namespace mscred::pipeline {

namespace synth_random {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t m) {
  if (m == 0) throw std::invalid_argument("uniform_below(0)");
  const std::uint64_t max = std::mt19937_64::max();
  const std::uint64_t limit = max - max % m;  // a multiple of m
  while (true) {
    const std::uint64_t x = rng();
    if (x < limit) return x % m;
  }
}

double Normal::operator()(std::mt19937_64& rng) {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform01(rng) - 1.0;
    v = 2.0 * uniform01(rng) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double m = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

}  // namespace synth_random

namespace {

using synth_random::splitmix64;
using synth_random::uniform01;
using synth_random::uniform_below;

// Stream ids for the sub-seeds.
constexpr std::uint64_t kParamsStream = 1;
constexpr std::uint64_t kAnomalyStream = 2;
constexpr std::uint64_t kNoiseStream = 1000;  // + series index

std::string shortest(double v) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

std::mt19937_64 stream(std::uint64_t seed, std::uint64_t id) {
  return std::mt19937_64(splitmix64(splitmix64(seed) ^ splitmix64(id * 0xD1B54A32D192ED03ull)));
}

}  // namespace

void validate(const SynthConfig& c) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("synth: " + what); };
  if (c.series == 0) fail("need at least one series");
  if (!(c.train_end > 0 && c.train_end <= c.valid_end && c.valid_end < c.length)) {
    fail("need 0 < train_end <= valid_end < length");
  }
  if (!(c.lambda >= 0.0) || !std::isfinite(c.lambda)) fail("lambda must be >= 0");
  if (c.anomalies > 0) {
    if (c.durations.empty()) fail("no anomaly durations");
    for (std::size_t d : c.durations) {
      if (d == 0) fail("anomaly durations must be >= 1");
    }
    if (c.series_per_anomaly == 0 || c.series_per_anomaly > c.series) {
      fail("series per anomaly must be in 1.." + std::to_string(c.series));
    }
    const std::size_t test_len = c.length - c.valid_end;
    const std::size_t slot = test_len > c.lead_in ? (test_len - c.lead_in) / c.anomalies : 0;
    const std::size_t longest = *std::max_element(c.durations.begin(), c.durations.end());
    if (slot < longest) {
      fail("test period of " + std::to_string(test_len) + " rows (lead-in " +
           std::to_string(c.lead_in) + ") is too short for " + std::to_string(c.anomalies) +
           " anomalies of up to " + std::to_string(longest) + " rows");
    }
  }
}

double SynthData::base(std::size_t i, std::size_t t) const {
  const SynthSeries& p = params[i];
  const double arg = (static_cast<double>(t) - p.t0) / p.omega;
  return p.cosine ? std::cos(arg) : std::sin(arg);
}

Labels SynthData::test_labels() const {
  Labels l;
  l.point.assign(config.length - config.valid_end, 0);
  for (const Segment& a : anomalies) {
    Segment s = a;
    s.begin -= config.valid_end;
    s.end -= config.valid_end;
    std::fill(l.point.begin() + static_cast<std::ptrdiff_t>(s.begin),
              l.point.begin() + static_cast<std::ptrdiff_t>(s.end), 1);
    l.segments.push_back(std::move(s));
  }
  return l;
}

SynthData generate_synth(const SynthConfig& config) {
  validate(config);
  SynthData d;
  d.config = config;
  const std::size_t n = config.series;
  const std::size_t len = config.length;
  for (std::size_t i = 0; i < n; ++i)
    d.names.push_back("s" + std::to_string(i + 1));

  std::mt19937_64 prng = stream(config.seed, kParamsStream);
  d.params.resize(n);
  for (auto& p : d.params) {
    p.cosine = uniform_below(prng, 2) == 1;
    p.t0 = 50.0 + 50.0 * uniform01(prng);
    p.omega = 40.0 + 10.0 * uniform01(prng);
  }

  std::vector<double> noise(len * n);  // lambda * eps
  d.clean.resize(len * n);
  for (std::size_t i = 0; i < n; ++i) {
    std::mt19937_64 nrng = stream(config.seed, kNoiseStream + i);
    synth_random::Normal normal;
    for (std::size_t t = 0; t < len; ++t) {
      noise[t * n + i] = config.lambda * normal(nrng);
      d.clean[t * n + i] = d.base(i, t) + noise[t * n + i];
    }
  }
  d.values = d.clean;

  if (config.anomalies == 0) return d;
  std::mt19937_64 arng = stream(config.seed, kAnomalyStream);
  // Durations: cycle through the list, then shuffle (Fisher-Yates).
  std::vector<std::size_t> dur(config.anomalies);
  for (std::size_t k = 0; k < dur.size(); ++k)
    dur[k] = config.durations[k % config.durations.size()];
  for (std::size_t k = dur.size(); k > 1; --k) {
    std::swap(dur[k - 1], dur[uniform_below(arng, k)]);
  }
  // One anomaly per equal slot of the test period, at a random offset that keeps a margin
  // of up to the longest duration from the slot's edges.
  const std::size_t test_len = len - config.valid_end;
  const std::size_t slot = (test_len - config.lead_in) / config.anomalies;
  const std::size_t longest = *std::max_element(config.durations.begin(), config.durations.end());
  std::vector<int> order(n);
  for (std::size_t k = 0; k < config.anomalies; ++k) {
    const std::size_t start = config.valid_end + config.lead_in + k * slot;
    const std::size_t margin = std::min(longest, (slot - dur[k]) / 2);
    const std::size_t span = slot - dur[k] - 2 * margin;  // possible offsets - 1
    Segment a;
    a.begin = start + margin + uniform_below(arng, span + 1);
    a.end = a.begin + dur[k];
    for (std::size_t i = 0; i < n; ++i)
      order[i] = static_cast<int>(i);
    for (std::size_t j = 0; j < config.series_per_anomaly; ++j) {
      std::swap(order[j], order[j + uniform_below(arng, n - j)]);
    }
    a.causes.assign(order.begin(),
                    order.begin() + static_cast<std::ptrdiff_t>(config.series_per_anomaly));
    std::sort(a.causes.begin(), a.causes.end());
    for (int i : a.causes) {
      const auto si = static_cast<std::size_t>(i);
      for (std::size_t t = a.begin; t < a.end; ++t) {
        const double shock = config.shock == ShockKind::kOscillation
                                 ? ((t - a.begin) % 2 == 0 ? 1.0 : -1.0)
                                 : -d.base(si, t);
        d.values[t * n + si] = shock + noise[t * n + si];
      }
    }
    d.anomalies.push_back(std::move(a));
  }
  return d;
}

std::vector<std::string> write_synth(const SynthData& d, const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const fs::path root(dir);
  const std::size_t n = d.cols();
  const SynthConfig& c = d.config;
  std::vector<std::string> paths;
  auto path = [&](const char* name) {
    paths.push_back((root / name).string());
    return paths.back();
  };
  write_csv(path("train.csv"), d.names, d.values.data(), c.valid_end, ',', 9);
  write_csv(path("test.csv"), d.names, d.values.data() + c.valid_end * n, c.length - c.valid_end,
            ',', 9);
  const Labels labels = d.test_labels();
  write_smd_test_label(path("test_label.txt"), labels.point);
  write_smd_interpretation(path("interpretation_label.txt"), labels.segments);

  std::ofstream meta(path("synth.txt"), std::ios::trunc);
  meta << "# mscred synth: MSCRED synthetic data (docs/pipeline.md)\n"
       << "seed=" << c.seed << "\nseries=" << c.series << "\nlength=" << c.length
       << "\ntrain_end=" << c.train_end << "\nvalid_end=" << c.valid_end
       << "\nlambda=" << shortest(c.lambda) << "\nanomalies=" << c.anomalies << "\ndurations=";
  for (std::size_t k = 0; k < c.durations.size(); ++k)
    meta << (k ? "," : "") << c.durations[k];
  meta << "\nseries_per_anomaly=" << c.series_per_anomaly
       << "\nshock=" << (c.shock == ShockKind::kOscillation ? "oscillation" : "flip")
       << "\nlead_in=" << c.lead_in
       << "\n# train.csv = rows [0, valid_end) (train, then validation from train_end);"
       << " test.csv = rows [valid_end, length)\n"
       << "# series: name form t0 omega  (x = form((t - t0) / omega) + lambda * eps)\n";
  for (std::size_t i = 0; i < n; ++i) {
    meta << "series " << d.names[i] << ' ' << (d.params[i].cosine ? "cos" : "sin") << ' '
         << shortest(d.params[i].t0) << ' ' << shortest(d.params[i].omega) << '\n';
  }
  meta << "# anomalies: begin end (absolute rows, end exclusive) test_begin test_end causes\n";
  for (const Segment& a : d.anomalies) {
    meta << "anomaly " << a.begin << ' ' << a.end << ' ' << a.begin - c.valid_end << ' '
         << a.end - c.valid_end << ' ';
    for (std::size_t k = 0; k < a.causes.size(); ++k) {
      meta << (k ? "," : "") << d.names[static_cast<std::size_t>(a.causes[k])];
    }
    meta << '\n';
  }
  meta.close();
  if (!meta) throw std::runtime_error(paths.back() + ": write failed");
  return paths;
}

}  // namespace mscred::pipeline
