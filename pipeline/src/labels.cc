#include "mscred/pipeline/labels.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace mscred::pipeline {

namespace {

[[noreturn]] void fail(const std::string& path, std::size_t line, const std::string& what) {
  throw std::runtime_error(path + (line > 0 ? ":" + std::to_string(line) : "") + ": " + what);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool parse_size(std::string_view s, std::size_t& out) {
  s = trim(s);
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::ifstream open_in(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, 0, std::string("cannot open: ") + std::strerror(errno));
  return in;
}

std::ofstream open_out(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, 0, std::string("cannot write: ") + std::strerror(errno));
  return out;
}

}  // namespace

std::size_t Labels::anomalous_rows() const {
  return static_cast<std::size_t>(std::count(point.begin(), point.end(), std::uint8_t{1}));
}

std::vector<Segment> segments_from_points(const std::vector<std::uint8_t>& point) {
  std::vector<Segment> out;
  std::size_t i = 0;
  while (i < point.size()) {
    if (!point[i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < point.size() && point[j])
      ++j;
    out.push_back(Segment{i, j, {}});
    i = j;
  }
  return out;
}

Labels labels_from_points(std::vector<std::uint8_t> point) {
  Labels l;
  l.segments = segments_from_points(point);
  l.point = std::move(point);
  return l;
}

Labels labels_from_column(const std::vector<double>& column, double threshold) {
  std::vector<std::uint8_t> point(column.size());
  for (std::size_t i = 0; i < column.size(); ++i)
    point[i] = column[i] > threshold ? 1 : 0;
  return labels_from_points(std::move(point));
}

std::size_t label_mismatches(const Labels& labels) {
  std::vector<std::uint8_t> cover(labels.point.size(), 0);
  std::size_t outside = 0;
  for (const Segment& s : labels.segments) {
    for (std::size_t r = s.begin; r < s.end; ++r) {
      if (r < cover.size()) {
        cover[r] = 1;
      } else {
        ++outside;
      }
    }
  }
  std::size_t bad = outside;
  for (std::size_t r = 0; r < cover.size(); ++r)
    bad += (cover[r] != 0) != (labels.point[r] != 0);
  return bad;
}

std::vector<std::uint8_t> read_smd_test_label(const std::string& path) {
  std::ifstream in = open_in(path);
  std::vector<std::uint8_t> point;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view v = trim(line);
    if (v.empty()) continue;
    if (v == "0" || v == "0.0") {
      point.push_back(0);
    } else if (v == "1" || v == "1.0") {
      point.push_back(1);
    } else {
      fail(path, line_no, "expected 0 or 1, found '" + std::string(v) + "'");
    }
  }
  return point;
}

std::vector<Segment> read_smd_interpretation(const std::string& path, std::size_t n_sensors) {
  std::ifstream in = open_in(path);
  std::vector<Segment> segments;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view v = trim(line);
    if (v.empty()) continue;
    const std::size_t colon = v.find(':');
    const std::string_view range = v.substr(0, colon);
    const std::size_t dash = range.find('-');
    Segment s;
    if (dash == std::string_view::npos || !parse_size(range.substr(0, dash), s.begin) ||
        !parse_size(range.substr(dash + 1), s.end)) {
      fail(path, line_no, "expected start-end:d1,d2,..., found '" + std::string(v) + "'");
    }
    if (s.end <= s.begin) fail(path, line_no, "segment end is not after its start");
    if (colon != std::string_view::npos) {
      std::string_view rest = v.substr(colon + 1);
      while (!trim(rest).empty()) {
        const std::size_t comma = rest.find(',');
        std::size_t d = 0;
        if (!parse_size(rest.substr(0, comma), d) || d == 0) {
          fail(path, line_no,
               "cause '" + std::string(trim(rest.substr(0, comma))) +
                   "' is not a 1-based metric number");
        }
        if (n_sensors > 0 && d > n_sensors) {
          fail(
              path, line_no,
              "cause " + std::to_string(d) + " but only " + std::to_string(n_sensors) + " sensors");
        }
        s.causes.push_back(static_cast<int>(d - 1));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      std::sort(s.causes.begin(), s.causes.end());
      s.causes.erase(std::unique(s.causes.begin(), s.causes.end()), s.causes.end());
    }
    segments.push_back(std::move(s));
  }
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.begin < b.begin; });
  for (std::size_t k = 1; k < segments.size(); ++k) {
    if (segments[k].begin < segments[k - 1].end) {
      fail(path, 0,
           "segments " + std::to_string(segments[k - 1].begin) + "-" +
               std::to_string(segments[k - 1].end) + " and " + std::to_string(segments[k].begin) +
               "-" + std::to_string(segments[k].end) + " overlap");
    }
  }
  return segments;
}

Labels read_smd_labels(const std::string& test_label_path, const std::string& interpretation_path,
                       std::size_t n_sensors) {
  Labels l;
  l.point = read_smd_test_label(test_label_path);
  if (interpretation_path.empty()) {
    l.segments = segments_from_points(l.point);
    return l;
  }
  l.segments = read_smd_interpretation(interpretation_path, n_sensors);
  for (const Segment& s : l.segments) {
    if (s.end > l.point.size()) {
      fail(interpretation_path, 0,
           "segment " + std::to_string(s.begin) + "-" + std::to_string(s.end) + " ends after " +
               std::to_string(l.point.size()) + " rows of " + test_label_path);
    }
  }
  return l;
}

void write_smd_test_label(const std::string& path, const std::vector<std::uint8_t>& point) {
  std::ofstream out = open_out(path);
  std::string buf;
  buf.reserve(point.size() * 2);
  for (std::uint8_t p : point) {
    buf += p ? '1' : '0';
    buf += '\n';
  }
  out << buf;
  out.close();
  if (!out) fail(path, 0, "write failed");
}

void write_smd_interpretation(const std::string& path, const std::vector<Segment>& segments) {
  std::ofstream out = open_out(path);
  for (const Segment& s : segments) {
    out << s.begin << '-' << s.end << ':';
    for (std::size_t k = 0; k < s.causes.size(); ++k) {
      out << (k ? "," : "") << s.causes[k] + 1;
    }
    out << '\n';
  }
  out.close();
  if (!out) fail(path, 0, "write failed");
}

}  // namespace mscred::pipeline
