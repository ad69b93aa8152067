// The synthetic generator: determinism, the paper's parameters, anomaly positions, files.
#include "mscred/pipeline/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "mscred/pipeline/csv.h"
#include "mscred/pipeline/labels.h"

namespace mscred::pipeline {
namespace {

namespace fs = std::filesystem;

TEST(SynthRandom, StandardEngineAndOwnDistributions) {
  std::mt19937_64 rng;  // the standard fixes this engine's output
  for (int i = 0; i < 9999; ++i)
    rng();
  EXPECT_EQ(rng(), 9981545732273789042ull);

  std::mt19937_64 a(7);
  double sum = 0, sq = 0;
  const int count = 200000;
  synth_random::Normal normal;
  std::vector<int> hist(3, 0);
  for (int i = 0; i < count; ++i) {
    const double u = synth_random::uniform01(a);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ++hist[synth_random::uniform_below(a, 3)];
    const double z = normal(a);
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / count, 0.0, 0.01);
  EXPECT_NEAR(sq / count, 1.0, 0.015);
  for (int h : hist)
    EXPECT_NEAR(h, count / 3.0, count * 0.01);
  EXPECT_THROW(synth_random::uniform_below(a, 0), std::invalid_argument);
}

TEST(Synth, DeterministicForASeed) {
  SynthConfig c;
  c.length = 12000;
  c.valid_end = 10000;
  const SynthData a = generate_synth(c), b = generate_synth(c);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.anomalies, b.anomalies);
  c.seed = 2;
  const SynthData other = generate_synth(c);
  EXPECT_NE(a.values, other.values);
}

// Golden values for the default config (seed 1): with the distributions written here they
// are the same with any standard library. Parameters and positions are exact; values go
// through sin/log, so they get a last-digits tolerance for other libms.
TEST(Synth, GoldenValuesSeed1) {
  const SynthData d = generate_synth(SynthConfig{});
  EXPECT_FALSE(d.params[0].cosine);
  EXPECT_EQ(d.params[0].t0, 83.245357779200916);
  EXPECT_EQ(d.params[0].omega, 43.442588534821951);
  EXPECT_NEAR(d.values[0], -0.83970120269052695, 1e-12);
  EXPECT_NEAR(d.values[12345 * 30 + 7], -1.2944674899229307, 1e-12);
  const std::vector<Segment> want = {{10582, 10612, {5, 20, 28}},
                                     {13386, 13396, {21, 26, 28}},
                                     {14783, 14793, {10, 19, 27}},
                                     {16182, 16212, {12, 24, 28}},
                                     {19231, 19321, {8, 16, 29}}};
  EXPECT_EQ(d.anomalies, want);
}

TEST(Synth, PaperDefaults) {
  const SynthData d = generate_synth(SynthConfig{});
  ASSERT_EQ(d.rows(), 20000u);
  ASSERT_EQ(d.cols(), 30u);
  ASSERT_EQ(d.values.size(), 20000u * 30u);
  EXPECT_EQ(d.names.front(), "s1");
  EXPECT_EQ(d.names.back(), "s30");
  std::size_t cosines = 0;
  for (const auto& p : d.params) {
    EXPECT_GE(p.t0, 50.0);
    EXPECT_LE(p.t0, 100.0);
    EXPECT_GE(p.omega, 40.0);
    EXPECT_LE(p.omega, 50.0);
    cosines += p.cosine;
  }
  EXPECT_GT(cosines, 5u);
  EXPECT_LT(cosines, 25u);
  // clean = base + 0.3 * eps with eps standard normal.
  double sum = 0, sq = 0;
  for (std::size_t t = 0; t < d.rows(); ++t) {
    for (std::size_t i = 0; i < d.cols(); ++i) {
      const double eps = (d.clean[t * 30 + i] - d.base(i, t)) / 0.3;
      sum += eps;
      sq += eps * eps;
    }
  }
  const double n = 600000.0;
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(sq / n - (sum / n) * (sum / n)), 1.0, 0.01);

  ASSERT_EQ(d.anomalies.size(), 5u);
  std::multiset<std::size_t> durations;
  for (std::size_t k = 0; k < d.anomalies.size(); ++k) {
    const Segment& a = d.anomalies[k];
    durations.insert(a.length());
    EXPECT_GE(a.begin, 10100u);  // inside the test period, after the lead-in
    EXPECT_LE(a.end, 20000u);
    if (k > 0) {
      EXPECT_GT(a.begin, d.anomalies[k - 1].end);
    }
    ASSERT_EQ(a.causes.size(), 3u);
    EXPECT_TRUE(std::is_sorted(a.causes.begin(), a.causes.end()));
    EXPECT_EQ(std::set<int>(a.causes.begin(), a.causes.end()).size(), 3u);
    for (int c : a.causes) {
      EXPECT_GE(c, 0);
      EXPECT_LT(c, 30);
    }
  }
  // Short, medium and long all present: 10, 30, 90, then 10 and 30 again.
  EXPECT_EQ(durations, (std::multiset<std::size_t>{10, 10, 30, 30, 90}));
}

// The data differ from the clean formula exactly inside the reported segments, on the
// reported series, at every row there, and nowhere else; the shock stays in range.
TEST(Synth, AnomaliesExactlyWhereReported) {
  for (ShockKind kind : {ShockKind::kOscillation, ShockKind::kFlip}) {
    SynthConfig c;
    c.seed = 12345;
    c.shock = kind;
    const SynthData d = generate_synth(c);
    const std::size_t n = d.cols();
    std::vector<std::uint8_t> affected(d.values.size(), 0);
    for (const Segment& a : d.anomalies) {
      for (std::size_t t = a.begin; t < a.end; ++t) {
        for (int i : a.causes)
          affected[t * n + static_cast<std::size_t>(i)] = 1;
      }
    }
    double normal_max = 0, shock_max = 0;
    std::size_t differing = 0;
    for (std::size_t e = 0; e < d.values.size(); ++e) {
      if (affected[e]) {
        ASSERT_NE(d.values[e], d.clean[e]) << "row " << e / n << " series " << e % n;
        ++differing;
        shock_max = std::max(shock_max, std::abs(d.values[e]));
      } else {
        ASSERT_EQ(d.values[e], d.clean[e]) << "row " << e / n << " series " << e % n;
        normal_max = std::max(normal_max, std::abs(d.values[e]));
      }
    }
    EXPECT_EQ(differing, (10 + 10 + 30 + 30 + 90) * 3u);
    EXPECT_LE(shock_max, normal_max);  // similar value range as normal data
    if (kind == ShockKind::kOscillation) {
      // +1, -1, +1, ... plus the series' own noise.
      const Segment& a = d.anomalies[0];
      const auto i = static_cast<std::size_t>(a.causes[0]);
      for (std::size_t t = a.begin; t < a.end; ++t) {
        const double noise = d.clean[t * n + i] - d.base(i, t);
        EXPECT_NEAR(d.values[t * n + i] - noise, (t - a.begin) % 2 == 0 ? 1.0 : -1.0, 1e-12);
      }
    }
  }
}

TEST(Synth, OptionsAndSeparateStreams) {
  SynthConfig c;
  c.series = 8;
  c.length = 5000;
  c.train_end = 2000;
  c.valid_end = 2500;
  c.lambda = 0.0;
  c.anomalies = 4;
  c.durations = {5, 50};
  c.series_per_anomaly = 2;
  const SynthData d = generate_synth(c);
  EXPECT_EQ(d.values.size(), 5000u * 8u);
  for (std::size_t t = 0; t < d.rows(); ++t) {
    for (std::size_t i = 0; i < d.cols(); ++i)
      ASSERT_EQ(d.clean[t * 8 + i], d.base(i, t));
  }
  ASSERT_EQ(d.anomalies.size(), 4u);
  std::multiset<std::size_t> durations;
  for (const auto& a : d.anomalies) {
    durations.insert(a.length());
    EXPECT_EQ(a.causes.size(), 2u);
    EXPECT_GE(a.begin, 2500u);
  }
  EXPECT_EQ(durations, (std::multiset<std::size_t>{5, 5, 50, 50}));
  // The anomalies have their own random stream: the clean data do not depend on them.
  SynthConfig none = c;
  none.anomalies = 0;
  const SynthData clean = generate_synth(none);
  EXPECT_EQ(clean.clean, d.clean);
  EXPECT_EQ(clean.values, clean.clean);
  EXPECT_TRUE(clean.anomalies.empty());
  // A longer series keeps the same prefix (per-series noise streams).
  SynthConfig longer = none;
  longer.length = 6000;
  const SynthData l = generate_synth(longer);
  EXPECT_TRUE(std::equal(clean.clean.begin(), clean.clean.end(), l.clean.begin()));

  SynthConfig bad = c;
  bad.valid_end = 5000;
  EXPECT_THROW(generate_synth(bad), std::invalid_argument);
  bad = c;
  bad.series_per_anomaly = 9;
  EXPECT_THROW(generate_synth(bad), std::invalid_argument);
  bad = c;
  bad.durations = {700};
  EXPECT_THROW(generate_synth(bad), std::invalid_argument);  // 4 x 700 > 2500 test rows
  bad = c;
  bad.durations = {0};
  EXPECT_THROW(generate_synth(bad), std::invalid_argument);
  bad = c;
  bad.lambda = -1;
  EXPECT_THROW(generate_synth(bad), std::invalid_argument);
}

TEST(Synth, FilesReadBackWithTheReaders) {
  const fs::path dir = fs::path(testing::TempDir()) / "mscred_synth_files";
  fs::remove_all(dir);
  const SynthData d = generate_synth(SynthConfig{});
  const auto paths = write_synth(d, dir.string());
  EXPECT_EQ(paths.size(), 5u);
  const CsvTable train = read_csv((dir / "train.csv").string());
  const CsvTable test = read_csv((dir / "test.csv").string());
  EXPECT_TRUE(train.has_header);
  EXPECT_EQ(train.sensor_names, d.names);
  EXPECT_TRUE(train.time_name.empty());
  EXPECT_EQ(train.rows(), 10000u);  // train + validation
  EXPECT_EQ(test.rows(), 10000u);
  EXPECT_NEAR(test.at(0, 0), d.values[10000 * 30], 1e-8);
  EXPECT_NEAR(train.at(9999, 29), d.values[9999 * 30 + 29], 1e-8);

  const Labels l = read_smd_labels((dir / "test_label.txt").string(),
                                   (dir / "interpretation_label.txt").string(), 30);
  const Labels want = d.test_labels();
  EXPECT_EQ(l.point, want.point);
  EXPECT_EQ(l.segments, want.segments);
  EXPECT_EQ(l.rows(), 10000u);
  EXPECT_EQ(l.anomalous_rows(), 170u);
  EXPECT_EQ(label_mismatches(l), 0u);
  ASSERT_EQ(l.segments.size(), 5u);
  EXPECT_EQ(l.segments[0].begin + 10000, d.anomalies[0].begin);  // relative to test.csv
  EXPECT_TRUE(fs::exists(dir / "synth.txt"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mscred::pipeline
