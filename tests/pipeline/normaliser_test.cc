// Normaliser: min-max and z-score fits, constant sensors, parameters round trip, SMD.
#include "mscred/pipeline/normaliser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <vector>

#include "mscred/pipeline/csv.h"

namespace mscred::pipeline {
namespace {

namespace fs = std::filesystem;

const double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(Normaliser, MinMaxMapsTrainingRangeToUnitInterval) {
  // Columns: increasing, negative, constant.
  const std::vector<double> rows = {1, -4, 7, 3, -2, 7, 5, -8, 7};
  const Normaliser n = Normaliser::fit(rows, 3);
  EXPECT_EQ(n.kind(), NormKind::kMinMax);
  EXPECT_EQ(n.offset(), (std::vector<double>{1, -8, 7}));
  EXPECT_EQ(n.scale(), (std::vector<double>{4, 6, 1}));
  EXPECT_EQ(n.constant_sensors(), (std::vector<std::size_t>{2}));
  std::vector<double> y = rows;
  n.apply_rows(y.data(), 3);
  EXPECT_EQ(y, (std::vector<double>{0, 4.0 / 6, 0, 0.5, 1, 0, 1, 0, 0}));
  // Unseen values may leave [0, 1]; the constant sensor shows raw deviations.
  double row[3] = {9, -14, 7.5};
  n.apply(row);
  EXPECT_DOUBLE_EQ(row[0], 2.0);
  EXPECT_DOUBLE_EQ(row[1], -1.0);
  EXPECT_DOUBLE_EQ(row[2], 0.5);
  n.invert(row);
  EXPECT_DOUBLE_EQ(row[0], 9);
  EXPECT_DOUBLE_EQ(row[1], -14);
  EXPECT_DOUBLE_EQ(row[2], 7.5);
}

TEST(Normaliser, ZScoreHasZeroMeanUnitStd) {
  std::vector<double> rows;
  for (int i = 0; i < 1000; ++i) {
    rows.push_back(100.0 + 3.0 * std::sin(i * 0.1));
    rows.push_back(-5.0);  // constant
    rows.push_back(1e-3 * i);
  }
  const Normaliser n = Normaliser::fit(rows, 3, NormKind::kZScore);
  EXPECT_EQ(n.constant_sensors(), (std::vector<std::size_t>{1}));
  EXPECT_EQ(n.scale()[1], 1.0);
  EXPECT_EQ(n.offset()[1], -5.0);
  std::vector<double> y = rows;
  n.apply_rows(y.data(), 1000);
  for (int c = 0; c < 3; ++c) {
    double m = 0, s = 0;
    for (int i = 0; i < 1000; ++i)
      m += y[i * 3 + c];
    m /= 1000;
    for (int i = 0; i < 1000; ++i)
      s += (y[i * 3 + c] - m) * (y[i * 3 + c] - m);
    s = std::sqrt(s / 1000);
    EXPECT_NEAR(m, 0.0, 1e-12) << c;
    EXPECT_NEAR(s, c == 1 ? 0.0 : 1.0, 1e-12) << c;
  }
}

TEST(Normaliser, ConstantSensorsNeverDivideByZero) {
  for (NormKind kind : {NormKind::kMinMax, NormKind::kZScore}) {
    // 0, a large constant, a near-constant within tolerance, an all-NaN column, one row.
    const std::vector<double> rows = {0, 1e9, 0.5, kNan, 0, 1e9, 0.5 + 1e-15, kNan};
    const Normaliser n = Normaliser::fit(rows, 4, kind);
    EXPECT_EQ(n.constant_sensors(), (std::vector<std::size_t>{0, 1, 2, 3}));
    double row[4] = {0, 1e9, 0.5, 2.0};
    n.apply(row);
    for (double v : row)
      EXPECT_TRUE(std::isfinite(v));
    EXPECT_EQ(row[0], 0.0);
    EXPECT_EQ(row[1], 0.0);
    EXPECT_EQ(row[3], 2.0);
    const Normaliser single = Normaliser::fit(rows.data(), 1, 4, kind);
    EXPECT_EQ(single.constant_sensors().size(), 4u);
  }
}

TEST(Normaliser, NanIgnoredInFitAndKeptInApply) {
  const std::vector<double> rows = {kNan, 2, 10, kNan, 20, 6};
  const Normaliser n = Normaliser::fit(rows, 2);
  EXPECT_EQ(n.offset(), (std::vector<double>{10, 2}));
  EXPECT_EQ(n.scale(), (std::vector<double>{10, 4}));
  double row[2] = {kNan, 4};
  n.apply(row);
  EXPECT_TRUE(std::isnan(row[0]));
  EXPECT_DOUBLE_EQ(row[1], 0.5);
}

TEST(Normaliser, ParametersRoundTripBitForBit) {
  std::vector<double> rows;
  for (int i = 0; i < 300; ++i) {
    for (int c = 0; c < 5; ++c)
      rows.push_back(std::cos(i * 0.37 + c) * (c + 1) + c * 0.1);
  }
  for (NormKind kind : {NormKind::kMinMax, NormKind::kZScore}) {
    const Normaliser a = Normaliser::fit(rows, 5, kind);
    const Normaliser b =
        Normaliser::from_parameters(a.kind(), a.offset(), a.scale(), a.constant_sensors());
    EXPECT_EQ(parse_norm_kind(to_string(kind)), kind);
    std::vector<double> ya = rows, yb = rows;
    a.apply_rows(ya.data(), 300);
    b.apply_rows(yb.data(), 300);
    EXPECT_EQ(ya, yb);
  }
  EXPECT_THROW(Normaliser::from_parameters(NormKind::kMinMax, {0, 1}, {1}), std::invalid_argument);
  EXPECT_THROW(Normaliser::from_parameters(NormKind::kMinMax, {0}, {0}), std::invalid_argument);
  EXPECT_THROW(Normaliser::from_parameters(NormKind::kMinMax, {kNan}, {1}), std::invalid_argument);
  EXPECT_THROW(Normaliser::from_parameters(NormKind::kMinMax, {0}, {1}, {1}),
               std::invalid_argument);
  EXPECT_THROW(parse_norm_kind("robust"), std::invalid_argument);
  EXPECT_THROW(Normaliser::fit(std::vector<double>{1, 2, 3}, 2), std::invalid_argument);
}

TEST(Normaliser, SmdConstantTrainColumns) {
  const fs::path dir = fs::path(MSCRED_SHARED_DIR) / "data/smd/ServerMachineDataset/train";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  const struct {
    const char* machine;
    std::size_t constant;
  } want[] = {{"machine-1-6", 5}, {"machine-2-1", 5}, {"machine-2-7", 8}};
  for (const auto& m : want) {
    const CsvTable t = read_csv((dir / (std::string(m.machine) + ".txt")).string());
    for (NormKind kind : {NormKind::kMinMax, NormKind::kZScore}) {
      Normaliser n = Normaliser::fit(t.values, t.cols(), kind);
      EXPECT_EQ(n.constant_sensors().size(), m.constant) << m.machine;
      std::vector<double> y = t.values;
      n.apply_rows(y.data(), t.rows());
      for (double v : y)
        ASSERT_TRUE(std::isfinite(v));
      if (kind == NormKind::kMinMax) {
        for (double v : y) {
          ASSERT_GE(v, 0.0);
          ASSERT_LE(v, 1.0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace mscred::pipeline
