// Labels: SMD test_label / interpretation_label and SKAB anomaly columns.
#include "mscred/pipeline/labels.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mscred/pipeline/csv.h"

namespace mscred::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path kSmd = fs::path(MSCRED_SHARED_DIR) / "data/smd/ServerMachineDataset";
const fs::path kSkab = fs::path(MSCRED_SHARED_DIR) / "data/skab/data";

fs::path write_temp(const std::string& name, const std::string& text) {
  const fs::path p = fs::path(testing::TempDir()) / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Labels, SegmentsFromPoints) {
  const Labels l = labels_from_points({0, 1, 1, 0, 0, 1, 0, 1});
  ASSERT_EQ(l.segments.size(), 3u);
  EXPECT_EQ(l.segments[0], (Segment{1, 3, {}}));
  EXPECT_EQ(l.segments[1], (Segment{5, 6, {}}));
  EXPECT_EQ(l.segments[2], (Segment{7, 8, {}}));
  EXPECT_EQ(l.anomalous_rows(), 4u);
  EXPECT_EQ(label_mismatches(l), 0u);
  Labels broken = l;
  broken.segments[0].end = 4;
  EXPECT_EQ(label_mismatches(broken), 1u);
  EXPECT_TRUE(labels_from_points({}).segments.empty());
  const Labels c = labels_from_column({0.0, 1.0, 1.0, 0.0});
  EXPECT_EQ(c.point, (std::vector<std::uint8_t>{0, 1, 1, 0}));
  EXPECT_EQ(c.segments, (std::vector<Segment>{{1, 3, {}}}));
}

TEST(Labels, SmdFormatRoundTrip) {
  Labels l;
  l.point = {0, 0, 1, 1, 1, 0, 1, 0, 0, 0};
  l.segments = {{2, 5, {0, 4, 37}}, {6, 7, {}}};
  const fs::path tl = fs::path(testing::TempDir()) / "mscred_tl.txt";
  const fs::path il = fs::path(testing::TempDir()) / "mscred_il.txt";
  write_smd_test_label(tl.string(), l.point);
  write_smd_interpretation(il.string(), l.segments);
  std::ifstream in(il);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "2-5:1,5,38");  // 1-based on disk
  const Labels r = read_smd_labels(tl.string(), il.string(), 38);
  EXPECT_EQ(r.point, l.point);
  EXPECT_EQ(r.segments, l.segments);
  fs::remove(tl);
  fs::remove(il);
}

TEST(Labels, SmdReaderErrorsNameFileAndLine) {
  const fs::path tl = write_temp("mscred_bad_tl.txt", "0\n1\n2\n");
  EXPECT_NE(error_of([&] { read_smd_test_label(tl.string()); }).find("mscred_bad_tl.txt:3"),
            std::string::npos);
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"1-3:1\n12:3\n", ":2: expected start-end"},
      {"1-3:0\n", ":1: cause '0'"},
      {"1-3:1,x\n", ":1: cause 'x'"},
      {"3-3:1\n", ":1: segment end is not after"},
      {"1-3:39\n", ":1: cause 39 but only 38 sensors"},
      {"1-5:1\n4-8:2\n", "overlap"},
  };
  for (const auto& c : cases) {
    const fs::path p = write_temp("mscred_bad_il.txt", c.text);
    const std::string e = error_of([&] { read_smd_interpretation(p.string(), 38); });
    EXPECT_NE(e.find(c.want), std::string::npos) << c.text << " -> " << e;
  }
  const fs::path p = write_temp("mscred_il_long.txt", "1-9:1\n");
  const fs::path q = write_temp("mscred_tl_short.txt", "0\n1\n1\n");
  EXPECT_NE(error_of([&] { read_smd_labels(q.string(), p.string()); }).find("ends after 3 rows"),
            std::string::npos);
  EXPECT_THROW(read_smd_test_label("/nonexistent/label.txt"), std::runtime_error);
}

TEST(LabelsRealData, SmdMachines) {
  if (!fs::exists(kSmd)) GTEST_SKIP() << kSmd << " not present";
  const struct {
    const char* machine;
    std::size_t rows, anomalous, segments;
  } want[] = {{"machine-1-6", 23689, 3708, 30},
              {"machine-2-1", 23694, 1170, 13},
              {"machine-2-7", 23696, 417, 20}};
  for (const auto& m : want) {
    const std::string file = std::string(m.machine) + ".txt";
    const Labels l = read_smd_labels((kSmd / "test_label" / file).string(),
                                     (kSmd / "interpretation_label" / file).string(), 38);
    EXPECT_EQ(l.rows(), m.rows) << m.machine;
    EXPECT_EQ(l.anomalous_rows(), m.anomalous) << m.machine;
    EXPECT_EQ(l.segments.size(), m.segments) << m.machine;
    EXPECT_EQ(label_mismatches(l), 0u) << m.machine;
    for (std::size_t k = 0; k < l.segments.size(); ++k) {
      EXPECT_FALSE(l.segments[k].causes.empty());
      for (int c : l.segments[k].causes) {
        EXPECT_GE(c, 0);
        EXPECT_LT(c, 38);
      }
      if (k > 0) {
        EXPECT_GE(l.segments[k].begin, l.segments[k - 1].end);
      }
    }
    // Without the interpretation file the segments are the runs, same rows.
    const Labels runs = read_smd_labels((kSmd / "test_label" / file).string());
    EXPECT_EQ(runs.segments.size(), m.segments);
    for (std::size_t k = 0; k < runs.segments.size(); ++k) {
      EXPECT_EQ(runs.segments[k].begin, l.segments[k].begin);
      EXPECT_EQ(runs.segments[k].end, l.segments[k].end);
    }
  }
  const Labels l = read_smd_labels((kSmd / "test_label/machine-1-6.txt").string(),
                                   (kSmd / "interpretation_label/machine-1-6.txt").string());
  // First line: 246-252:1,2,3,4,6,9,10,11,12,13,15 (1-based metrics, end exclusive).
  EXPECT_EQ(l.segments[0], (Segment{246, 252, {0, 1, 2, 3, 5, 8, 9, 10, 11, 12, 14}}));
  EXPECT_EQ(l.point[245], 0);
  EXPECT_EQ(l.point[246], 1);
  EXPECT_EQ(l.point[251], 1);
  EXPECT_EQ(l.point[252], 0);
  EXPECT_EQ(l.segments[3], (Segment{2884, 2888, {5}}));
}

TEST(LabelsRealData, SkabAnomalyColumns) {
  if (!fs::exists(kSkab)) GTEST_SKIP() << kSkab << " not present";
  std::size_t anomalous = 0, segments = 0, files = 0;
  for (const char* sub : {"valve1", "valve2", "other"}) {
    for (const auto& entry : fs::directory_iterator(kSkab / sub)) {
      const CsvTable t = read_csv(entry.path().string());
      const Labels l = labels_from_column(*t.label("anomaly"));
      EXPECT_EQ(l.rows(), t.rows());
      EXPECT_EQ(l.segments.size(), 1u) << entry.path();
      anomalous += l.anomalous_rows();
      segments += l.segments.size();
      ++files;
    }
  }
  EXPECT_EQ(files, 34u);
  EXPECT_EQ(anomalous, 13067u);
  EXPECT_EQ(segments, 34u);
  // From the data README (0-based inclusive rows there, exclusive end here).
  const struct {
    const char* file;
    std::size_t rows, anomalous, begin, last;
  } want[] = {{"valve1/0.csv", 1147, 401, 573, 973},
              {"valve2/3.csv", 995, 395, 564, 958},
              {"other/2.csv", 780, 384, 104, 487},
              {"other/4.csv", 1191, 395, 796, 1190}};
  for (const auto& w : want) {
    const CsvTable t = read_csv((kSkab / w.file).string());
    const Labels l = labels_from_column(*t.label("anomaly"));
    EXPECT_EQ(l.rows(), w.rows) << w.file;
    EXPECT_EQ(l.anomalous_rows(), w.anomalous) << w.file;
    ASSERT_EQ(l.segments.size(), 1u);
    EXPECT_EQ(l.segments[0].begin, w.begin) << w.file;
    EXPECT_EQ(l.segments[0].end, w.last + 1) << w.file;
  }
}

}  // namespace
}  // namespace mscred::pipeline
