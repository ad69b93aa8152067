// Fuzzes pipeline::read_csv_text (the whole-file CSV reader behind read_csv) with options
// taken from the first two bytes, and read_csv itself through a memfd for some inputs, so
// both entry points are covered and must agree.

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mscred/pipeline/csv.h"

namespace {

using mscred::pipeline::BadRowPolicy;
using mscred::pipeline::CsvError;
using mscred::pipeline::CsvOptions;
using mscred::pipeline::CsvTable;
using mscred::pipeline::HeaderMode;
using mscred::pipeline::TimeColumnMode;

CsvOptions options_from(uint8_t a, uint8_t b) {
  CsvOptions o;
  static const char kDelims[4] = {0, ',', ';', '\t'};
  o.delimiter = kDelims[a & 3];
  static const HeaderMode kHeaders[3] = {HeaderMode::kAuto, HeaderMode::kYes, HeaderMode::kNo};
  o.header = kHeaders[((a >> 2) & 3) % 3];
  o.bad_rows = (a & 0x10) ? BadRowPolicy::kSkip : BadRowPolicy::kStop;
  o.allow_nan = (a & 0x20) != 0;
  o.allow_inf = (a & 0x40) != 0;
  switch (b & 3) {
    case 0:
      o.time_mode = TimeColumnMode::kAuto;
      break;
    case 1:
      o.time_mode = TimeColumnMode::kNone;
      break;
    case 2:
      o.time_mode = TimeColumnMode::kIndex;
      o.time_index = (b >> 2) & 7;
      break;
    default:
      o.time_mode = TimeColumnMode::kName;
      o.time_name = "datetime";
      break;
  }
  return o;
}

void check_table(const CsvTable& t, const CsvOptions& o) {
  const size_t rows = t.rows();
  MSCRED_FUZZ_CHECK(t.values.size() == rows * t.cols());
  MSCRED_FUZZ_CHECK(t.time_name.empty() ? t.time.empty() : t.time.size() == rows);
  MSCRED_FUZZ_CHECK(t.label_values.size() == t.label_names.size());
  for (const auto& l : t.label_values)
    MSCRED_FUZZ_CHECK(l.size() == rows);
  for (size_t r = 1; r < rows; ++r)
    MSCRED_FUZZ_CHECK(t.line_numbers[r] > t.line_numbers[r - 1]);
  if (o.bad_rows == BadRowPolicy::kStop) MSCRED_FUZZ_CHECK(t.skipped_rows == 0);
  MSCRED_FUZZ_CHECK(t.skipped_reasons.size() <= t.skipped_rows);
  for (double v : t.values) {
    if (!o.allow_nan) MSCRED_FUZZ_CHECK(!std::isnan(v));
    if (!o.allow_inf) MSCRED_FUZZ_CHECK(!std::isinf(v));
  }
}

// Compares two tables cell by cell (NaN equals NaN here).
bool same(const CsvTable& a, const CsvTable& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.sensor_names != b.sensor_names ||
      a.time != b.time || a.skipped_rows != b.skipped_rows) {
    return false;
  }
  for (size_t i = 0; i < a.values.size(); ++i) {
    const double x = a.values[i], y = b.values[i];
    if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
  }
  return true;
}

}  // namespace

int mscred_fuzz_csv_reader(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const CsvOptions options = options_from(data[0], data[1]);
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  bool ok = false;
  CsvTable table;
  std::string error;
  try {
    table = mscred::pipeline::read_csv_text(text, options, "fuzz.csv");
    ok = true;
  } catch (const CsvError& e) {
    // The message names the source; the line is within the text.
    error = e.what();
    MSCRED_FUZZ_CHECK(error.rfind("fuzz.csv", 0) == 0);
    MSCRED_FUZZ_CHECK(e.file() == "fuzz.csv");
    MSCRED_FUZZ_CHECK(e.line() <= text.size() + 1);
  }
  if (ok) check_table(table, options);

  // One input in eight also goes through the file entry point, which must agree.
  if ((data[1] & 0xe0) != 0xe0) return 0;
  int fd = memfd_create("mscred-fuzz-csv", 0);
  if (fd < 0) return 0;
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    CsvTable from_file = mscred::pipeline::read_csv(path, options);
    MSCRED_FUZZ_CHECK(ok);
    MSCRED_FUZZ_CHECK(same(table, from_file));
  } catch (const CsvError&) {
    MSCRED_FUZZ_CHECK(!ok);
  }
  close(fd);
  return 0;
}

MSCRED_FUZZ_ENTRY(mscred_fuzz_csv_reader)
