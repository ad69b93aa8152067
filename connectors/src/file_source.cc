#include "mscred/connectors/file_source.h"

#include <cmath>

#include <charconv>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "mscred/connectors/log.h"

namespace mscred::connectors {

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    std::string field = line.substr(start, comma == std::string::npos ? comma : comma - start);
    while (!field.empty() && (field.back() == '\r' || field.back() == ' '))
      field.pop_back();
    while (!field.empty() && field.front() == ' ')
      field.erase(0, 1);
    out.push_back(field);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool is_number(const std::string& s) {
  double v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

FileSource::FileSource(FileSourceOptions options, RecordConsumer& consumer)
    : options_(std::move(options)), consumer_(consumer) {}

FileSource::~FileSource() {
  stop();
}

void FileSource::start() {
  std::ifstream probe(options_.path);
  if (!probe) throw std::runtime_error("file source: cannot open " + options_.path);
  thread_ = std::thread([this] { run(); });
}

void FileSource::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FileSource::run() {
  auto log = logger("file");
  std::ifstream in(options_.path);
  RecordParser parser;
  std::string line;
  std::vector<std::string> header;  // sensor names, if the file has a header
  const size_t first_value = options_.entity.empty() ? 2 : 1;
  auto start = std::chrono::steady_clock::now();
  bool have_t0 = false;
  double t0 = 0.0;
  uint64_t line_number = 0;

  while (!stop_.load() && std::getline(in, line)) {
    ++line_number;
    if (line_number == 1) {
      auto fields = split(line);
      if (fields.size() > first_value && !is_number(fields[first_value - 1])) {
        header.assign(fields.begin() + static_cast<long>(first_value), fields.end());
        continue;
      }
    }
    lines_.fetch_add(1);
    Record record;
    ParseStatus status =
        parser.parse_csv(options_.entity.empty() ? line : options_.entity + "," + line, record);
    if (status.ok() && !header.empty()) {
      if (record.values.size() != header.size()) {
        status = {RejectReason::kWrongLength, std::to_string(record.values.size()) +
                                                  " values, header names " +
                                                  std::to_string(header.size())};
      } else {
        record.is_named = true;
        for (size_t i = 0; i < header.size(); ++i) {
          // Empty fields (NaN) stay out, so the missing-data policy applies to them.
          if (record.values[i] == record.values[i])
            record.named.emplace_back(header[i], record.values[i]);
        }
        record.values.clear();
      }
    }
    if (!status.ok()) {
      rejected_.fetch_add(1);
      consumer_.rejected(options_.name.c_str(), status.reason);
      log->warn("{}:{}: {}: {}", options_.path, line_number, reject_reason_name(status.reason),
                status.detail);
      continue;
    }

    if (options_.speed > 0.0) {
      if (!have_t0) {
        t0 = record.ts;
        have_t0 = true;
      }
      double wait_s = (record.ts - t0) / options_.speed;
      if (!(std::fabs(wait_s) < 1e6)) {
        // A jump of more than ~11 days of replay time (or a non-finite one) would overflow
        // the clock's integer duration: restart the pacing from this record instead.
        log->warn("{}:{}: timestamp jump of {} s at speed {}: pacing restarts here", options_.path,
                  line_number, record.ts - t0, options_.speed);
        t0 = record.ts;
        start = std::chrono::steady_clock::now();
        wait_s = 0.0;
      }
      auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(wait_s));
      while (!stop_.load() && std::chrono::steady_clock::now() < due) {
        std::this_thread::sleep_until(
            std::min(due, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
      }
    }
    record.source = options_.name.c_str();
    record.ingest_time = std::chrono::steady_clock::now();
    if (!consumer_.push(std::move(record))) break;
  }
  log->info("{}: replayed {} rows ({} rejected)", options_.path, lines_.load(), rejected_.load());
  finished_ = true;
}

}  // namespace mscred::connectors
