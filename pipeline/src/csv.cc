#include "mscred/pipeline/csv.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>

namespace mscred::pipeline {

namespace {

std::string format_error(const std::string& file, std::size_t line, std::size_t column,
                         const std::string& what) {
  std::string s = file;
  if (line > 0) {
    s += ":" + std::to_string(line);
    if (column > 0) s += ":" + std::to_string(column);
  }
  return s + ": " + what;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Splits one line at `delim` outside double quotes; quoted fields lose their quotes and
// "" inside them becomes ". Fields are trimmed of blanks. Views point into `line`, or
// into `scratch` for quoted fields with escaped quotes (a deque: its strings never move).
void split(std::string_view line, char delim, std::vector<std::string_view>& fields,
           std::deque<std::string>& scratch) {
  fields.clear();
  scratch.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    while (i < n && (line[i] == ' ' || line[i] == '\t') && line[i] != delim)
      ++i;
    if (i < n && line[i] == '"') {
      // Quoted: up to the closing quote, then blanks, then the delimiter or the end.
      const std::size_t start = ++i;
      bool escaped = false;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            escaped = true;
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      std::string_view body = line.substr(start, std::min(i, n) - start);
      if (escaped) {
        std::string& u = scratch.emplace_back();
        for (std::size_t k = 0; k < body.size(); ++k) {
          u += body[k];
          if (body[k] == '"') ++k;
        }
        body = u;
      }
      fields.push_back(body);
      if (i < n) ++i;  // closing quote
      while (i < n && line[i] != delim)
        ++i;  // blanks (or stray text, dropped)
    } else {
      const std::size_t start = i;
      while (i < n && line[i] != delim)
        ++i;
      fields.push_back(trim(line.substr(start, i - start)));
    }
    if (i >= n) break;
    ++i;  // delimiter
    if (i == n) {
      fields.emplace_back();  // trailing delimiter: one more, empty field
      break;
    }
  }
}

char detect_delimiter(std::string_view line) {
  std::size_t counts[3] = {0, 0, 0};
  const char cands[3] = {';', ',', '\t'};
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    for (int k = 0; k < 3; ++k)
      counts[k] += c == cands[k];
  }
  int best = 1;  // ',' when there is none at all
  std::size_t best_count = 0;
  for (int k = 0; k < 3; ++k) {
    if (counts[k] > best_count) {
      best = k;
      best_count = counts[k];
    }
  }
  return cands[best];
}

bool is_nan_text(std::string_view f) {
  return f.empty() || iequals(f, "nan") || iequals(f, "-nan") || iequals(f, "na") ||
         iequals(f, "null");
}

bool is_time_name(std::string_view name) {
  for (const char* t : {"time", "timestamp", "datetime", "date", "ts"}) {
    if (iequals(name, t)) return true;
  }
  return false;
}

std::string quote_for_message(std::string_view f) {
  std::string s(f.substr(0, 40));
  if (f.size() > 40) s += "...";
  return "'" + s + "'";
}

}  // namespace

CsvError::CsvError(std::string file, std::size_t line, std::size_t column, const std::string& what)
    : std::runtime_error(format_error(file, line, column, what)),
      file_(std::move(file)),
      line_(line),
      column_(column) {}

void CsvOptions::set_time_column(const std::string& choice) {
  if (choice.empty() || choice == "auto") {
    time_mode = TimeColumnMode::kAuto;
  } else if (choice == "none") {
    time_mode = TimeColumnMode::kNone;
  } else if (std::all_of(choice.begin(), choice.end(),
                         [](unsigned char c) { return std::isdigit(c) != 0; })) {
    time_mode = TimeColumnMode::kIndex;
    time_index = std::stoul(choice);
  } else {
    time_mode = TimeColumnMode::kName;
    time_name = choice;
  }
}

const std::vector<double>* CsvTable::label(std::string_view name) const {
  for (std::size_t k = 0; k < label_names.size(); ++k) {
    if (iequals(label_names[k], name)) return &label_values[k];
  }
  return nullptr;
}

long CsvTable::sensor_index(std::string_view name) const {
  for (std::size_t k = 0; k < sensor_names.size(); ++k) {
    if (sensor_names[k] == name) return static_cast<long>(k);
  }
  return -1;
}

bool parse_number(std::string_view field, double& out) {
  field = trim(field);
  if (!field.empty() && field.front() == '+') {
    field.remove_prefix(1);
    if (field.empty() || field.front() == '-' || field.front() == '+') return false;
  }
  if (field.empty()) return false;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, out, std::chars_format::general);
  if (ec == std::errc::result_out_of_range && ptr == end) {
    // As strtod: overflow reads as +-Inf, underflow as +-0.
    const std::size_t e = field.find_first_of("eE");
    const bool negative = field.front() == '-';
    const bool underflow =
        e != std::string_view::npos && e + 1 < field.size() && field[e + 1] == '-';
    out = underflow ? (negative ? -0.0 : 0.0)
                    : (negative ? -std::numeric_limits<double>::infinity()
                                : std::numeric_limits<double>::infinity());
    return true;
  }
  return ec == std::errc() && ptr == end;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CsvError(path, 0, 0, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw CsvError(path, 0, 0, "read error");
  return read_csv_text(buf.str(), options, path);
}

CsvTable read_csv_text(std::string_view text, const CsvOptions& options, const std::string& name) {
  CsvTable table;
  table.source = name;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM

  enum class Role { kSensor, kTime, kLabel };
  std::vector<Role> roles;              // per file column
  std::vector<std::size_t> label_slot;  // per file column: index into label_values
  std::vector<std::string> header;
  std::deque<std::string> scratch;
  std::size_t expected = 0;
  bool layout_known = false;
  char delim = options.delimiter;

  std::vector<std::string_view> fields;
  std::vector<double> row_values;
  std::vector<double> row_labels;

  // Decides the roles of the columns from the header (if any) and the first data row.
  auto decide_layout = [&](std::size_t line_no, const std::vector<std::string_view>& data) {
    const std::size_t cols = table.has_header ? header.size() : data.size();
    expected = cols;
    roles.assign(cols, Role::kSensor);
    label_slot.assign(cols, 0);
    std::optional<std::size_t> time_col;
    switch (options.time_mode) {
      case TimeColumnMode::kNone:
        break;
      case TimeColumnMode::kIndex:
        if (options.time_index >= cols) {
          throw CsvError(name, line_no, 0,
                         "time column index " + std::to_string(options.time_index) + " but only " +
                             std::to_string(cols) + " columns");
        }
        time_col = options.time_index;
        break;
      case TimeColumnMode::kName: {
        if (table.has_header) {
          for (std::size_t c = 0; c < cols; ++c) {
            if (iequals(header[c], options.time_name)) time_col = c;
          }
        }
        if (!time_col) {
          throw CsvError(name, line_no, 0, "no time column named '" + options.time_name + "'");
        }
        break;
      }
      case TimeColumnMode::kAuto: {
        if (table.has_header) {
          for (std::size_t c = 0; c < cols && !time_col; ++c) {
            if (is_time_name(header[c])) time_col = c;
          }
        }
        double v;
        if (!time_col && cols > 1 && !data.empty() && !parse_number(data[0], v) &&
            !is_nan_text(data[0])) {
          time_col = 0;
        }
        break;
      }
    }
    if (table.has_header) {
      for (std::size_t c = 0; c < cols; ++c) {
        if (time_col && c == *time_col) continue;
        for (const auto& l : options.label_columns) {
          if (iequals(header[c], l)) {
            roles[c] = Role::kLabel;
            label_slot[c] = table.label_names.size();
            table.label_names.push_back(header[c]);
            table.label_values.emplace_back();
            break;
          }
        }
      }
    }
    if (time_col) {
      roles[*time_col] = Role::kTime;
      table.time_name = table.has_header ? header[*time_col] : "time";
    }
    for (std::size_t c = 0; c < cols; ++c) {
      if (roles[c] != Role::kSensor) continue;
      table.sensor_names.push_back(
          table.has_header ? header[c] : "c" + std::to_string(table.sensor_names.size() + 1));
    }
    layout_known = true;
  };

  auto column_label = [&](std::size_t c) {
    std::string s = "column " + std::to_string(c + 1);
    if (table.has_header && c < header.size()) s += " (" + header[c] + ")";
    return s;
  };

  auto bad = [&](std::size_t line, std::size_t column, const std::string& what) {
    CsvError e(name, line, column, what);
    if (options.bad_rows == BadRowPolicy::kStop) throw e;
    ++table.skipped_rows;
    if (table.skipped_reasons.size() < 20) table.skipped_reasons.emplace_back(e.what());
  };

  std::size_t line_no = 0;
  std::size_t header_line = 0;
  std::size_t pos = 0;
  bool seen_first = false;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      ++table.empty_lines;
      continue;
    }
    if (delim == 0) delim = detect_delimiter(line);
    split(line, delim, fields, scratch);
    if (!seen_first) {
      seen_first = true;
      table.delimiter = delim;
      bool is_header = options.header == HeaderMode::kYes;
      if (options.header == HeaderMode::kAuto) {
        double v;
        for (std::size_t c = 1; c < fields.size() && !is_header; ++c) {
          is_header = !parse_number(fields[c], v) && !is_nan_text(fields[c]);
        }
        if (fields.size() == 1) is_header = !parse_number(fields[0], v) && !is_nan_text(fields[0]);
      }
      if (is_header) {
        table.has_header = true;
        header.assign(fields.begin(), fields.end());
        header_line = line_no;
        continue;
      }
    }
    if (!layout_known) decide_layout(line_no, fields);

    if (fields.size() != expected) {
      bad(line_no, std::min(fields.size(), expected) + 1,
          "expected " + std::to_string(expected) + " fields, found " +
              std::to_string(fields.size()));
      continue;
    }
    row_values.clear();
    row_labels.assign(table.label_names.size(), 0.0);
    std::string_view time_text;
    bool ok = true;
    for (std::size_t c = 0; c < expected && ok; ++c) {
      const std::string_view f = fields[c];
      double v = 0.0;
      switch (roles[c]) {
        case Role::kTime:
          time_text = f;
          break;
        case Role::kLabel:
          if (!parse_number(f, v) || !std::isfinite(v)) {
            bad(line_no, c + 1,
                column_label(c) + ": label is not a finite number: " + quote_for_message(f));
            ok = false;
          } else {
            row_labels[label_slot[c]] = v;
          }
          break;
        case Role::kSensor: {
          const bool number = parse_number(f, v);
          if (!number && !is_nan_text(f)) {
            bad(line_no, c + 1, column_label(c) + ": not a number: " + quote_for_message(f));
            ok = false;
          } else if (!number || std::isnan(v)) {
            if (!options.allow_nan) {
              bad(line_no, c + 1,
                  column_label(c) +
                      (f.empty() ? ": empty field" : ": NaN not allowed: " + quote_for_message(f)));
              ok = false;
            }
            v = std::numeric_limits<double>::quiet_NaN();
          } else if (std::isinf(v) && !options.allow_inf) {
            bad(line_no, c + 1,
                column_label(c) + ": infinite value not allowed: " + quote_for_message(f));
            ok = false;
          }
          row_values.push_back(v);
          break;
        }
      }
    }
    if (!ok) continue;
    table.values.insert(table.values.end(), row_values.begin(), row_values.end());
    for (std::size_t k = 0; k < row_labels.size(); ++k) {
      table.label_values[k].push_back(row_labels[k]);
    }
    if (!table.time_name.empty()) table.time.emplace_back(time_text);
    table.line_numbers.push_back(line_no);
  }
  if (!layout_known && table.has_header) decide_layout(header_line, {});
  return table;
}

void write_csv(const std::string& path, const std::vector<std::string>& names, const double* rows,
               std::size_t n_rows, char delimiter, int digits) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw CsvError(path, 0, 0, std::string("cannot write: ") + std::strerror(errno));
  std::string buf;
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (c > 0) buf += delimiter;
    buf += names[c];
  }
  buf += '\n';
  char num[64];
  const std::size_t n = names.size();
  for (std::size_t r = 0; r < n_rows; ++r) {
    for (std::size_t c = 0; c < n; ++c) {
      if (c > 0) buf += delimiter;
      const double v = rows[r * n + c];
      const auto res =
          digits > 0 ? std::to_chars(num, num + sizeof num, v, std::chars_format::general, digits)
                     : std::to_chars(num, num + sizeof num, v);
      buf.append(num, res.ptr);
    }
    buf += '\n';
    if (buf.size() > (1u << 20)) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.close();
  if (!out) throw CsvError(path, 0, 0, "write failed");
}

}  // namespace mscred::pipeline
