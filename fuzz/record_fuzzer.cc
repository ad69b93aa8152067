// Fuzzes the record parsers of connectors/ (JSON and CSV lines, as the TCP, Kafka and file
// sources call them) and resolve_values(), which maps a parsed record onto a model's
// sensors. Each input is one line; the first byte picks the entry point.

#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "mscred/connectors/record.h"

namespace {

using mscred::connectors::MissingPolicy;
using mscred::connectors::ParseStatus;
using mscred::connectors::Record;
using mscred::connectors::RecordParser;
using mscred::connectors::RejectReason;
using mscred::connectors::SensorIndex;

ParseStatus parse(RecordParser& parser, uint8_t mode, std::string_view line, Record& out) {
  switch (mode % 3) {
    case 0:
      return parser.parse_json(line, out);
    case 1:
      return parser.parse_csv(line, out);
    default:
      return parser.parse_auto(line, out);
  }
}

void check_status(const ParseStatus& s) {
  MSCRED_FUZZ_CHECK(s.reason < RejectReason::kCount);
  // Every rejection must say what is wrong, and its reason must have a metric label.
  if (!s.ok()) {
    MSCRED_FUZZ_CHECK(!s.detail.empty());
    MSCRED_FUZZ_CHECK(std::string_view(reject_reason_name(s.reason)) != "unknown");
  }
}

void check_record(const Record& r, size_t line_size) {
  MSCRED_FUZZ_CHECK(!r.entity.empty());
  MSCRED_FUZZ_CHECK(std::isfinite(r.ts));
  // A record cannot hold more values than its line has bytes.
  MSCRED_FUZZ_CHECK(r.values.size() + r.named.size() <= line_size);
  // NaN means "missing" (an empty CSV field); infinities never pass the parser.
  for (double v : r.values)
    MSCRED_FUZZ_CHECK(!std::isinf(v));
  for (const auto& nv : r.named)
    MSCRED_FUZZ_CHECK(std::isfinite(nv.second));
}

}  // namespace

int mscred_fuzz_record(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view line(reinterpret_cast<const char*>(data + 1), size - 1);

  // One parser per thread is how the sources use it; reusing it checks that no state
  // leaks from one line into the next. A small limit makes "too long" reachable.
  static RecordParser parser(512);
  Record first;
  ParseStatus s1 = parse(parser, mode, line, first);
  check_status(s1);
  if (s1.ok()) check_record(first, line.size());

  Record second;
  ParseStatus s2 = parse(parser, mode, line, second);
  MSCRED_FUZZ_CHECK(s1.reason == s2.reason);
  MSCRED_FUZZ_CHECK(s1.detail == s2.detail);
  if (!s1.ok()) return 0;
  MSCRED_FUZZ_CHECK(first.entity == second.entity);
  MSCRED_FUZZ_CHECK(first.values.size() == second.values.size());
  MSCRED_FUZZ_CHECK(first.named.size() == second.named.size());

  // Resolve against a three-sensor model, with and without a previous row.
  static const SensorIndex index({"a", "b", "c"});
  const double last_row[3] = {1.0, 2.0, 3.0};
  for (MissingPolicy policy : {MissingPolicy::kReject, MissingPolicy::kHoldLast}) {
    for (const double* last : {static_cast<const double*>(nullptr), last_row}) {
      std::vector<double> out;
      ParseStatus r = resolve_values(first, index, policy, last, out);
      check_status(r);
      if (r.ok()) {
        MSCRED_FUZZ_CHECK(out.size() == index.size());
        for (double v : out)
          MSCRED_FUZZ_CHECK(std::isfinite(v));
      }
    }
  }
  return 0;
}

MSCRED_FUZZ_ENTRY(mscred_fuzz_record)
