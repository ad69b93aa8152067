// CSV reader: the SKAB and SMD layouts, edge cases, bad rows; the real files.
#include "mscred/pipeline/csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace mscred::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path kShared = MSCRED_SHARED_DIR;

std::string skab_text(const std::string& eol) {
  return "datetime;Accelerometer1RMS;Current;anomaly;changepoint" + eol +
         "2020-03-09 10:14:33;0.027;0.5;0.0;0.0" + eol + "2020-03-09 10:14:34;0.026;-1e-3;1.0;1.0" +
         eol + "2020-03-09 10:14:35;0.028;2.5;1.0;0.0" + eol;
}

TEST(Csv, SkabLayoutCrlfAndLf) {
  for (const std::string eol : {"\r\n", "\n"}) {
    const CsvTable t = read_csv_text(skab_text(eol), {}, "skab.csv");
    EXPECT_EQ(t.delimiter, ';');
    EXPECT_TRUE(t.has_header);
    EXPECT_EQ(t.sensor_names, (std::vector<std::string>{"Accelerometer1RMS", "Current"}));
    EXPECT_EQ(t.time_name, "datetime");
    ASSERT_EQ(t.rows(), 3u);
    ASSERT_EQ(t.cols(), 2u);
    EXPECT_EQ(t.time[2], "2020-03-09 10:14:35");
    EXPECT_DOUBLE_EQ(t.at(1, 1), -1e-3);
    EXPECT_DOUBLE_EQ(t.at(2, 0), 0.028);
    ASSERT_NE(t.label("anomaly"), nullptr);
    EXPECT_EQ(*t.label("anomaly"), (std::vector<double>{0, 1, 1}));
    EXPECT_EQ(*t.label("changepoint"), (std::vector<double>{0, 1, 0}));
    EXPECT_EQ(t.line_numbers, (std::vector<std::size_t>{2, 3, 4}));
    EXPECT_EQ(t.sensor_index("Current"), 1);
    EXPECT_EQ(t.sensor_index("anomaly"), -1);
  }
}

TEST(Csv, HeaderlessNumericRows) {
  const CsvTable t = read_csv_text("0.1,0.2,0\n0.3,0.4,1e-2\n0.5,0.6,0.7", {}, "smd.txt");
  EXPECT_EQ(t.delimiter, ',');
  EXPECT_FALSE(t.has_header);
  EXPECT_TRUE(t.time_name.empty());
  EXPECT_TRUE(t.time.empty());
  EXPECT_EQ(t.sensor_names, (std::vector<std::string>{"c1", "c2", "c3"}));
  ASSERT_EQ(t.rows(), 3u);  // no newline after the last row
  EXPECT_DOUBLE_EQ(t.at(1, 2), 0.01);
  EXPECT_DOUBLE_EQ(t.at(2, 2), 0.7);
}

TEST(Csv, HeaderlessWithTimeStringsInFirstColumn) {
  const CsvTable t = read_csv_text("2020-01-01 00:00;1;2\n2020-01-01 00:01;3;4\n");
  EXPECT_FALSE(t.has_header);
  EXPECT_EQ(t.time_name, "time");
  EXPECT_EQ(t.time, (std::vector<std::string>{"2020-01-01 00:00", "2020-01-01 00:01"}));
  EXPECT_EQ(t.cols(), 2u);
}

TEST(Csv, EmptyLinesAreSkippedAndCounted) {
  const std::string text = "\n a,b \r\n\r\n1,2\n   \n3,4\n\n";
  const CsvTable t = read_csv_text(text);
  EXPECT_EQ(t.sensor_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.empty_lines, 4u);
  EXPECT_EQ(t.line_numbers, (std::vector<std::size_t>{4, 6}));
}

TEST(Csv, BadFieldStopsWithFileLineColumn) {
  const std::string text = "t;a;b\nx;1;2\n\ny;1;oops\nz;3;4\n";
  try {
    read_csv_text(text, {}, "data/f.csv");
    FAIL() << "no error";
  } catch (const CsvError& e) {
    EXPECT_EQ(e.file(), "data/f.csv");
    EXPECT_EQ(e.line(), 4u);
    EXPECT_EQ(e.column(), 3u);
    const std::string what = e.what();
    EXPECT_NE(what.find("data/f.csv:4:3"), std::string::npos) << what;
    EXPECT_NE(what.find("(b)"), std::string::npos) << what;
    EXPECT_NE(what.find("oops"), std::string::npos) << what;
  }
}

TEST(Csv, WrongFieldCount) {
  try {
    read_csv_text("a,b,c\n1,2,3\n1,2\n", {}, "f.csv");
    FAIL() << "no error";
  } catch (const CsvError& e) {
    EXPECT_EQ(e.line(), 3u);
    EXPECT_EQ(e.column(), 3u);
    EXPECT_NE(std::string(e.what()).find("expected 3 fields, found 2"), std::string::npos);
  }
  EXPECT_THROW(read_csv_text("1,2\n1,2,3\n"), CsvError);
  EXPECT_THROW(read_csv_text("1,2\n1,2,\n"), CsvError);  // trailing delimiter
}

TEST(Csv, NanAndInfOnlyWhenAllowed) {
  const std::string text = "a,b\n1,nan\n2,\n3,inf\n4,-Infinity\n5,NA\n";
  try {
    read_csv_text(text, {}, "f.csv");
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_EQ(e.line(), 2u);
    EXPECT_EQ(e.column(), 2u);
    EXPECT_NE(std::string(e.what()).find("NaN not allowed"), std::string::npos);
  }
  CsvOptions o;
  o.allow_nan = true;
  EXPECT_THROW(read_csv_text(text, o), CsvError);  // inf still refused
  o.allow_inf = true;
  const CsvTable t = read_csv_text(text, o);
  ASSERT_EQ(t.rows(), 5u);
  EXPECT_TRUE(std::isnan(t.at(0, 1)));
  EXPECT_TRUE(std::isnan(t.at(1, 1)));
  EXPECT_EQ(t.at(2, 1), std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.at(3, 1), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(t.at(4, 1)));
  o.allow_nan = false;
  try {
    read_csv_text("a,b\n1,2\n2,\n", o, "g.csv");
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_NE(std::string(e.what()).find("g.csv:3:2: column 2 (b): empty field"), std::string::npos)
        << e.what();
  }
}

TEST(Csv, SkipBadRowsCountsThem) {
  CsvOptions o;
  o.bad_rows = BadRowPolicy::kSkip;
  const std::string text = "a;b;anomaly\n1;2;0\nx;2;0\n3;4\n5;6;1\n7;8;nan\n9;inf;0\n10;11;1\n";
  const CsvTable t = read_csv_text(text, o, "f.csv");
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.skipped_rows, 4u);
  ASSERT_EQ(t.skipped_reasons.size(), 4u);
  EXPECT_NE(t.skipped_reasons[0].find("f.csv:3:1"), std::string::npos) << t.skipped_reasons[0];
  EXPECT_NE(t.skipped_reasons[1].find("f.csv:4:3"), std::string::npos) << t.skipped_reasons[1];
  EXPECT_NE(t.skipped_reasons[2].find("f.csv:6:3"), std::string::npos) << t.skipped_reasons[2];
  EXPECT_NE(t.skipped_reasons[3].find("f.csv:7:2"), std::string::npos) << t.skipped_reasons[3];
  EXPECT_EQ(t.values, (std::vector<double>{1, 2, 5, 6, 10, 11}));
  EXPECT_EQ(*t.label("anomaly"), (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(t.line_numbers, (std::vector<std::size_t>{2, 5, 8}));
  o.bad_rows = BadRowPolicy::kStop;
  EXPECT_THROW(read_csv_text(text, o), CsvError);
}

TEST(Csv, ConfiguredDelimiterHeaderAndTimeColumn) {
  CsvOptions o;
  o.delimiter = '\t';
  const CsvTable tab = read_csv_text("x\ty\n1\t2\n", o);
  EXPECT_EQ(tab.sensor_names, (std::vector<std::string>{"x", "y"}));

  // A numeric first row read as a header when told so, and as data when told so.
  CsvOptions yes;
  yes.header = HeaderMode::kYes;
  EXPECT_EQ(read_csv_text("1,2\n3,4\n", yes).sensor_names, (std::vector<std::string>{"1", "2"}));
  CsvOptions no;
  no.header = HeaderMode::kNo;
  EXPECT_EQ(read_csv_text("1,2\n3,4\n", no).rows(), 2u);

  CsvOptions by_index;
  by_index.set_time_column("1");
  const CsvTable ti = read_csv_text("a,when,b\n1,t0,2\n", by_index);
  EXPECT_EQ(ti.time_name, "when");
  EXPECT_EQ(ti.sensor_names, (std::vector<std::string>{"a", "b"}));
  CsvOptions by_name;
  by_name.set_time_column("When");
  EXPECT_EQ(read_csv_text("a,when,b\n1,t0,2\n", by_name).time, (std::vector<std::string>{"t0"}));
  by_name.set_time_column("missing");
  EXPECT_THROW(read_csv_text("a,when,b\n1,t0,2\n", by_name), CsvError);
  CsvOptions none;
  none.set_time_column("none");
  // "time" would be detected as the time column; with none it is a sensor.
  EXPECT_EQ(read_csv_text("time,b\n1,2\n", none).sensor_names,
            (std::vector<std::string>{"time", "b"}));
  EXPECT_EQ(read_csv_text("time,b\n1,2\n").sensor_names, (std::vector<std::string>{"b"}));

  CsvOptions labels;
  labels.label_columns = {"y"};
  const CsvTable tl = read_csv_text("x,y,anomaly\n1,2,3\n", labels);
  EXPECT_EQ(tl.sensor_names, (std::vector<std::string>{"x", "anomaly"}));
  EXPECT_EQ(tl.label_names, (std::vector<std::string>{"y"}));
}

TEST(Csv, QuotedFieldsAndBom) {
  const CsvTable t =
      read_csv_text("\xEF\xBB\xBF\"time\",\"a;b\",\"say \"\"hi\"\"\"\n\"t,0\", \"1.5\" ,2\n");
  EXPECT_EQ(t.delimiter, ',');
  EXPECT_EQ(t.time_name, "time");
  EXPECT_EQ(t.sensor_names, (std::vector<std::string>{"a;b", "say \"hi\""}));
  EXPECT_EQ(t.time, (std::vector<std::string>{"t,0"}));
  EXPECT_EQ(t.values, (std::vector<double>{1.5, 2}));
}

TEST(Csv, HeaderOnlyAndEmptyInput) {
  const CsvTable h = read_csv_text("a;b;anomaly\n");
  EXPECT_EQ(h.rows(), 0u);
  EXPECT_EQ(h.sensor_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(h.label_names, (std::vector<std::string>{"anomaly"}));
  const CsvTable e = read_csv_text("");
  EXPECT_EQ(e.rows(), 0u);
  EXPECT_EQ(e.cols(), 0u);
}

TEST(Csv, MissingFileNamesIt) {
  try {
    read_csv("/nonexistent/x.csv");
    FAIL();
  } catch (const CsvError& e) {
    EXPECT_EQ(e.line(), 0u);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.csv"), std::string::npos);
  }
}

TEST(Csv, ParseNumber) {
  double v = 0;
  EXPECT_TRUE(parse_number("+1.5", v));
  EXPECT_EQ(v, 1.5);
  EXPECT_TRUE(parse_number(" 2 ", v));
  EXPECT_EQ(v, 2.0);
  EXPECT_TRUE(parse_number("-1E-3", v));
  EXPECT_EQ(v, -0.001);
  EXPECT_TRUE(parse_number("1e400", v));
  EXPECT_EQ(v, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(parse_number("1e-400", v));
  EXPECT_EQ(v, 0.0);
  EXPECT_TRUE(parse_number("inf", v));
  EXPECT_TRUE(std::isinf(v));
  EXPECT_TRUE(parse_number("NaN", v));
  EXPECT_TRUE(std::isnan(v));
  for (const char* bad : {"", "abc", "1.2.3", "1,5", "+-1", "++1", "1 2", "0x10", "+"}) {
    EXPECT_FALSE(parse_number(bad, v)) << bad;
  }
}

TEST(Csv, WriteReadRoundTrip) {
  const fs::path p = fs::path(testing::TempDir()) / "mscred_csv_roundtrip.csv";
  const std::vector<std::string> names = {"s1", "s2", "s3"};
  const std::vector<double> rows = {0.1, -2.5e-7, 3.0, 1.0 / 3, 1e300, -0.0};
  write_csv(p.string(), names, rows.data(), 2);
  const CsvTable t = read_csv(p.string());
  EXPECT_EQ(t.sensor_names, names);
  EXPECT_EQ(t.values, rows);  // shortest round-trip form is exact
  write_csv(p.string(), names, rows.data(), 2, ';', 4);
  const CsvTable t4 = read_csv(p.string());
  EXPECT_EQ(t4.delimiter, ';');
  EXPECT_DOUBLE_EQ(t4.at(1, 0), 0.3333);
  fs::remove(p);
}

// The real files.

TEST(CsvRealData, SkabAllFiles) {
  const fs::path dir = kShared / "data/skab/data";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  std::size_t rows = 0, anomalous = 0, files = 0;
  for (const char* sub : {"valve1", "valve2", "other"}) {
    for (const auto& entry : fs::directory_iterator(dir / sub)) {
      const CsvTable t = read_csv(entry.path().string());
      ASSERT_EQ(t.delimiter, ';');
      ASSERT_EQ(t.cols(), 8u) << entry.path();
      ASSERT_EQ(t.time_name, "datetime");
      ASSERT_EQ(t.label_names, (std::vector<std::string>{"anomaly", "changepoint"}));
      ASSERT_EQ(t.skipped_rows, 0u);
      rows += t.rows();
      for (double a : *t.label("anomaly"))
        anomalous += a > 0.5;
      ++files;
    }
  }
  EXPECT_EQ(files, 34u);
  EXPECT_EQ(rows, 37401u);
  EXPECT_EQ(anomalous, 13067u);

  const CsvTable v = read_csv((dir / "valve1/0.csv").string());  // CRLF
  EXPECT_EQ(v.rows(), 1147u);
  EXPECT_EQ(v.sensor_names.front(), "Accelerometer1RMS");
  EXPECT_EQ(v.sensor_names.back(), "Volume Flow RateRMS");
  EXPECT_EQ(v.time.front(), "2020-03-09 10:14:33");
  const CsvTable o = read_csv((dir / "other/1.csv").string());  // LF
  EXPECT_EQ(o.rows(), 745u);
  EXPECT_DOUBLE_EQ(o.at(0, 0), 0.0820647);
  EXPECT_DOUBLE_EQ(o.at(1, 3), -0.273216);

  const CsvTable f = read_csv((dir / "anomaly-free/anomaly-free.csv").string());
  EXPECT_EQ(f.rows(), 9405u);
  EXPECT_EQ(f.cols(), 8u);
  EXPECT_TRUE(f.label_names.empty());
}

TEST(CsvRealData, SmdTrainAndTest) {
  const fs::path dir = kShared / "data/smd/ServerMachineDataset";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not present";
  const struct {
    const char* machine;
    std::size_t train, test;
  } want[] = {
      {"machine-1-6", 23688, 23689}, {"machine-2-1", 23693, 23694}, {"machine-2-7", 23696, 23696}};
  for (const auto& m : want) {
    const CsvTable tr = read_csv((dir / "train" / (std::string(m.machine) + ".txt")).string());
    const CsvTable te = read_csv((dir / "test" / (std::string(m.machine) + ".txt")).string());
    EXPECT_FALSE(tr.has_header);
    EXPECT_TRUE(tr.time_name.empty());
    EXPECT_EQ(tr.cols(), 38u);
    EXPECT_EQ(te.cols(), 38u);
    EXPECT_EQ(tr.rows(), m.train) << m.machine;
    EXPECT_EQ(te.rows(), m.test) << m.machine;
  }
  const CsvTable t = read_csv((dir / "train/machine-1-6.txt").string());
  EXPECT_DOUBLE_EQ(t.at(0, 0), 0.061728001);
  EXPECT_DOUBLE_EQ(t.at(1, 1), 0.043671001);
}

}  // namespace
}  // namespace mscred::pipeline
