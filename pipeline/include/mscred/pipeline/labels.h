#pragma once
// Anomaly labels: a 0/1 flag per row plus the list of anomalous segments, each with the
// sensors that caused it when known. Readers for SMD's test_label / interpretation_label
// files and SKAB's `anomaly` column, writers for the two SMD files.
//
// SMD interpretation_label lines read `start-end:d1,d2,...`: start is a 0-based row, end
// is exclusive, d1.. are 1-based metric numbers. In memory causes are 0-based.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mscred::pipeline {

struct Segment {
  std::size_t begin = 0;    //!< first row
  std::size_t end = 0;      //!< one past the last row
  std::vector<int> causes;  //!< 0-based sensor indices, ascending; empty when unknown

  std::size_t length() const { return end - begin; }
  bool operator==(const Segment& o) const {
    return begin == o.begin && end == o.end && causes == o.causes;
  }
};

struct Labels {
  std::vector<std::uint8_t> point;  //!< one 0/1 per row
  std::vector<Segment> segments;    //!< sorted by begin, non-overlapping

  std::size_t rows() const { return point.size(); }
  std::size_t anomalous_rows() const;
};

//! Maximal runs of 1s as segments without causes.
std::vector<Segment> segments_from_points(const std::vector<std::uint8_t>& point);
//! Labels whose segments are the runs of `point`.
Labels labels_from_points(std::vector<std::uint8_t> point);
//! SKAB-style label column (0.0 / 1.0): rows with value > threshold are anomalous.
Labels labels_from_column(const std::vector<double>& column, double threshold = 0.5);
//! Rows where `point` disagrees with the union of `segments` (0 when consistent).
std::size_t label_mismatches(const Labels& labels);

//! SMD test_label: one 0 or 1 per line. Throws std::runtime_error naming file and line.
std::vector<std::uint8_t> read_smd_test_label(const std::string& path);
//! SMD interpretation_label. Segments come back sorted by begin; causes 0-based and
//! sorted. With n_sensors > 0, cause numbers above it are an error.
std::vector<Segment> read_smd_interpretation(const std::string& path, std::size_t n_sensors = 0);
//! Both files: point from test_label; segments from interpretation_label (which must lie
//! within the rows), or the runs of the point labels when interpretation_path is empty.
Labels read_smd_labels(const std::string& test_label_path,
                       const std::string& interpretation_path = "", std::size_t n_sensors = 0);

void write_smd_test_label(const std::string& path, const std::vector<std::uint8_t>& point);
//! Writes `begin-end:c1,c2,...` with 1-based causes, one segment per line.
void write_smd_interpretation(const std::string& path, const std::vector<Segment>& segments);

}  // namespace mscred::pipeline
