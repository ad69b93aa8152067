// Bad-input classes at the file reader (pipeline::read_csv / read_csv_text) used by
// `mscred train`, `eval` and replay: every error names file, line and column; with
// BadRowPolicy::kSkip bad rows are counted and the good ones kept.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "mscred/pipeline/csv.h"

namespace {

using mscred::pipeline::BadRowPolicy;
using mscred::pipeline::CsvError;
using mscred::pipeline::CsvOptions;
using mscred::pipeline::read_csv;
using mscred::pipeline::read_csv_text;

// Returns the error of reading `text` (fails the test if it reads).
CsvError error_of(const std::string& text, const CsvOptions& options = {}) {
  try {
    read_csv_text(text, options, "bad.csv");
  } catch (const CsvError& e) {
    return e;
  }
  ADD_FAILURE() << "read without error:\n" << text;
  return CsvError("", 0, 0, "none");
}

const char* const kSkabHeader = "datetime;Accelerometer1RMS;Current;anomaly\n";

TEST(CsvBadInputTest, NonNumericCellNamesLineAndColumn) {
  CsvError e = error_of(std::string(kSkabHeader) + "2020-03-09 10:14:33;0.02;0.77;0\n" +
                        "2020-03-09 10:14:34;0.02;high;0\n");
  EXPECT_EQ(e.file(), "bad.csv");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.column(), 3u);
  EXPECT_NE(std::string(e.what()).find("Current"), std::string::npos) << e.what();
}

TEST(CsvBadInputTest, NanAndInfRejectedUnlessAllowed) {
  const std::string text = std::string(kSkabHeader) + "t1;nan;0.7;0\nt2;0.1;inf;0\n";
  EXPECT_EQ(error_of(text).line(), 2u);
  CsvOptions nan_ok;
  nan_ok.allow_nan = true;
  EXPECT_EQ(error_of(text, nan_ok).line(), 3u);
  nan_ok.allow_inf = true;
  auto t = read_csv_text(text, nan_ok, "ok.csv");
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_TRUE(std::isnan(t.at(0, 0)));
  EXPECT_TRUE(std::isinf(t.at(1, 1)));
}

TEST(CsvBadInputTest, RaggedRowsAreSkippedAndCountedWithSkip) {
  CsvOptions skip;
  skip.bad_rows = BadRowPolicy::kSkip;
  const std::string text = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,x,12\n13,14,15\n";
  auto t = read_csv_text(text, skip, "ragged.csv");
  EXPECT_EQ(t.skipped_rows, 3u);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.at(1, 0), 13.0);
  EXPECT_EQ(t.line_numbers[1], 6u);
  ASSERT_EQ(t.skipped_reasons.size(), 3u);
  EXPECT_NE(t.skipped_reasons[0].find("ragged.csv:3"), std::string::npos) << t.skipped_reasons[0];
  // With kStop the first one stops the read at its line.
  EXPECT_EQ(error_of(text).line(), 3u);
}

TEST(CsvBadInputTest, BinaryGarbageIsAnErrorNotACrash) {
  std::string garbage("a,b\n1,2\n\x00\x01\xff\xfe,\x7f\n", 15);
  CsvError e = error_of(garbage);
  EXPECT_EQ(e.line(), 3u);
  CsvOptions skip;
  skip.bad_rows = BadRowPolicy::kSkip;
  auto t = read_csv_text(garbage, skip, "garbage.csv");
  EXPECT_EQ(t.rows(), 1u);
  EXPECT_EQ(t.skipped_rows, 1u);
}

TEST(CsvBadInputTest, EmptyAndHeaderOnlyFilesGiveNoRows) {
  auto empty = read_csv_text("", {}, "empty.csv");
  EXPECT_EQ(empty.rows(), 0u);
  auto blank = read_csv_text("\n\r\n  \n", {}, "blank.csv");
  EXPECT_EQ(blank.rows(), 0u);
  EXPECT_EQ(blank.empty_lines, 3u);
  auto header = read_csv_text("time,a,b\n", {}, "header.csv");
  EXPECT_EQ(header.rows(), 0u);
  EXPECT_EQ(header.cols(), 2u);
}

TEST(CsvBadInputTest, TruncatedLastLineIsReadWhenComplete) {
  // A file cut in the middle of a row: the cut row has too few fields and is named.
  CsvError e = error_of("a,b,c\n1,2,3\n4,5");
  EXPECT_EQ(e.line(), 3u);
  auto t = read_csv_text("a,b,c\n1,2,3\n4,5,6", {}, "no_final_newline.csv");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(CsvBadInputTest, MissingFileNamesThePath) {
  try {
    read_csv("/nonexistent/mscred/file.csv");
    FAIL() << "read a missing file";
  } catch (const CsvError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/mscred/file.csv");
    EXPECT_EQ(e.line(), 0u);
  }
}

}  // namespace
