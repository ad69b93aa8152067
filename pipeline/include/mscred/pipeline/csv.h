#pragma once
// CSV reader for the layouts in use: a header row with a time column and named sensors
// (SKAB: `;`, CRLF or LF, plus `anomaly`/`changepoint` label columns) and headerless
// numeric rows (SMD: `,`). See docs/pipeline.md, "CSV input".

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mscred::pipeline {

//! A malformed input: `file:line:column: what`. line and column are 1-based; 0 when not
//! applicable (e.g. the file cannot be opened).
class CsvError : public std::runtime_error {
 public:
  CsvError(std::string file, std::size_t line, std::size_t column, const std::string& what);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }

 private:
  std::string file_;
  std::size_t line_;
  std::size_t column_;
};

enum class HeaderMode { kAuto, kYes, kNo };
enum class BadRowPolicy { kStop, kSkip };
enum class TimeColumnMode { kAuto, kNone, kName, kIndex };

struct CsvOptions {
  //! 0: detect from the first non-empty line (the most frequent of ';', ',', '\t').
  char delimiter = 0;
  //! kAuto: the first non-empty line is a header when a field other than its first is not
  //! a number (or it has a single, non-numeric field).
  HeaderMode header = HeaderMode::kAuto;
  //! kAuto: a header column named time, timestamp, datetime, date or ts (any case), or
  //! else a first column whose first value is not a number. kName / kIndex (0-based):
  //! that column. The time column is kept as text.
  TimeColumnMode time_mode = TimeColumnMode::kAuto;
  std::string time_name;
  std::size_t time_index = 0;
  //! Header columns kept apart from the sensors when present (exact name, any case).
  std::vector<std::string> label_columns{"anomaly", "changepoint"};
  //! kStop: the first bad row throws CsvError. kSkip: bad rows are skipped and counted.
  BadRowPolicy bad_rows = BadRowPolicy::kStop;
  //! Whether NaN ("nan", "NaN", "NA" or an empty field) is accepted in sensor columns.
  bool allow_nan = false;
  //! Whether +-Inf ("inf", "Infinity", ...) is accepted in sensor columns.
  bool allow_inf = false;

  //! Parses a command-line time column choice: "auto", "none", a 0-based index (digits)
  //! or a column name.
  void set_time_column(const std::string& choice);
};

struct CsvTable {
  std::string source;  //!< file name (or the name given to read_csv_text)
  char delimiter = ',';
  bool has_header = false;
  std::vector<std::string> sensor_names;          //!< headerless files: c1..cN (1-based)
  std::string time_name;                          //!< empty when there is no time column
  std::vector<std::string> time;                  //!< one per row when there is a time column
  std::vector<double> values;                     //!< rows x sensors, row-major
  std::vector<std::size_t> line_numbers;          //!< 1-based file line of each row
  std::vector<std::string> label_names;           //!< label columns found, in file order
  std::vector<std::vector<double>> label_values;  //!< one vector of rows per label column
  std::size_t skipped_rows = 0;                   //!< bad rows skipped (BadRowPolicy::kSkip)
  std::vector<std::string> skipped_reasons;       //!< messages of the first 20 skipped rows
  std::size_t empty_lines = 0;                    //!< blank lines ignored

  std::size_t rows() const { return line_numbers.size(); }
  std::size_t cols() const { return sensor_names.size(); }
  const double* row(std::size_t r) const { return values.data() + r * cols(); }
  double at(std::size_t r, std::size_t c) const { return values[r * cols() + c]; }
  //! The label column called `name` (any case), or nullptr.
  const std::vector<double>* label(std::string_view name) const;
  //! Index of the sensor called `name`, or -1.
  long sensor_index(std::string_view name) const;
};

//! Reads a file; throws CsvError (including when it cannot be read).
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});
//! Parses text already in memory; `name` is used in error messages.
CsvTable read_csv_text(std::string_view text, const CsvOptions& options = {},
                       const std::string& name = "<text>");

//! Parses a whole field as a number (surrounding blanks ignored, leading '+' allowed).
//! Returns false when it is not one. NaN and Inf spellings parse; callers decide.
bool parse_number(std::string_view field, double& out);

//! Writes a table of values with a header row (no time column), `delimiter`-separated,
//! LF line ends, each value with `digits` significant digits (shortest exact form when
//! digits is 0).
void write_csv(const std::string& path, const std::vector<std::string>& names, const double* rows,
               std::size_t n_rows, char delimiter = ',', int digits = 0);

}  // namespace mscred::pipeline
