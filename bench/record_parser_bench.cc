// JSON record parsing cost per core: RecordParser on realistic records, 100 entities x 38
// sensors, in object form (values by sensor name) and array form (model order), plus the
// worker's name resolution (resolve_values) for the object form, and CSV for reference.
// Bytes are the line bytes (without the newline). The label names the simdjson kernels:
// the one the runtime dispatcher picked for this CPU (DOM API) and the one compiled into
// On Demand (chosen by the compiler flags of this build). The `OnDemandOnly` variants run
// the parser with its fast path switched off, the way it parsed before (same run, same
// records): their ratio is what the fast path buys. Run from a Release build:
//   build/bench/record_parser_bench
// Target (issue 7): 200 MB/s per core. Results: docs/daemon.md (Performance).
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "mscred/connectors/record.h"

namespace {

using mscred::connectors::JsonPath;
using mscred::connectors::Record;
using mscred::connectors::RecordParser;

constexpr int kEntities = 100;
constexpr int kSensors = 38;
constexpr int kStepsPerEntity = 20;  // 2000 distinct records, cycled

// Sensor names like a plant's tags: mixed lengths, 9-19 characters.
std::vector<std::string> sensor_names() {
  const char* kinds[] = {"cpu_util", "mem_used", "disk_io_read", "net_rx_bytes", "temp_c",
                         "fan_rpm",  "load_1m",  "swap_used",    "iops_write",   "latency_ms"};
  std::vector<std::string> names;
  for (int i = 0; i < kSensors; ++i)
    names.push_back(std::string(kinds[i % 10]) + "_" + std::to_string(i));
  return names;
}

// Values as a producer prints them: 6 significant digits, a few negative.
std::vector<std::string> make_lines(bool object_form) {
  const auto names = sensor_names();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-5.0, 100.0);
  std::vector<std::string> lines;
  char num[32];
  for (int t = 0; t < kStepsPerEntity; ++t) {
    for (int e = 0; e < kEntities; ++e) {
      std::string s = "{\"entity\": \"machine-" + std::to_string(e) +
                      "\", \"ts\": " + std::to_string(1700000000 + t) + ", \"values\": ";
      s += object_form ? "{" : "[";
      for (int i = 0; i < kSensors; ++i) {
        if (i > 0) s += ", ";
        if (object_form) s += "\"" + names[i] + "\": ";
        std::snprintf(num, sizeof num, "%.6g", u(rng));
        s += num;
      }
      s += object_form ? "}}" : "]}";
      lines.push_back(std::move(s));
    }
  }
  return lines;
}

std::vector<std::string> make_csv_lines() {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-5.0, 100.0);
  std::vector<std::string> lines;
  char num[32];
  for (int t = 0; t < kStepsPerEntity; ++t) {
    for (int e = 0; e < kEntities; ++e) {
      std::string s = "machine-" + std::to_string(e) + "," + std::to_string(1700000000 + t);
      for (int i = 0; i < kSensors; ++i) {
        std::snprintf(num, sizeof num, ",%.6g", u(rng));
        s += num;
      }
      lines.push_back(std::move(s));
    }
  }
  return lines;
}

std::string kernels() {
  return std::string("simdjson " SIMDJSON_STRINGIFY(SIMDJSON_VERSION) ", runtime kernel ") +
         simdjson::get_active_implementation()->name() + ", On Demand compiled for " +
         simdjson::builtin_implementation()->name();
}

template <typename ParseFn>
void run(benchmark::State& st, const std::vector<std::string>& lines, ParseFn parse) {
  size_t bytes = 0, i = 0, failures = 0;
  Record record;
  for (auto _ : st) {
    const std::string& line = lines[i];
    failures += parse(line, record) ? 0 : 1;
    benchmark::DoNotOptimize(record.ts);
    bytes += line.size();
    i = i + 1 == lines.size() ? 0 : i + 1;
  }
  if (failures > 0) st.SkipWithError("a benchmark record failed to parse");
  st.SetBytesProcessed(static_cast<int64_t>(bytes));
  st.SetItemsProcessed(st.iterations());
  st.counters["bytes_per_record"] =
      static_cast<double>(bytes) / std::max<size_t>(1, st.iterations());
  st.SetLabel(kernels());
}

void BM_Json(benchmark::State& st, bool object_form, JsonPath path) {
  static const auto object_lines = make_lines(true);
  static const auto array_lines = make_lines(false);
  RecordParser parser(1 << 20, path);
  run(st, object_form ? object_lines : array_lines,
      [&](const std::string& line, Record& r) { return parser.parse_json(line, r).ok(); });
}

// Parse + resolve by sensor name into model order: the whole per-record cost of the
// object form (the TCP thread parses, the worker resolves).
void BM_JsonObjectResolve(benchmark::State& st, JsonPath path) {
  static const auto lines = make_lines(true);
  RecordParser parser(1 << 20, path);
  mscred::connectors::SensorIndex index(sensor_names());
  std::vector<double> row;
  run(st, lines, [&](const std::string& line, Record& r) {
    return parser.parse_json(line, r).ok() &&
           mscred::connectors::resolve_values(r, index, mscred::connectors::MissingPolicy::kReject,
                                              nullptr, row)
               .ok();
  });
}

void BM_Csv(benchmark::State& st) {
  static const auto lines = make_csv_lines();
  RecordParser parser;
  run(st, lines,
      [&](const std::string& line, Record& r) { return parser.parse_csv(line, r).ok(); });
}

BENCHMARK_CAPTURE(BM_Json, Object, true, JsonPath::kFast);
BENCHMARK_CAPTURE(BM_Json, ObjectOnDemandOnly, true, JsonPath::kOnDemandOnly);
BENCHMARK_CAPTURE(BM_Json, Array, false, JsonPath::kFast);
BENCHMARK_CAPTURE(BM_Json, ArrayOnDemandOnly, false, JsonPath::kOnDemandOnly);
BENCHMARK_CAPTURE(BM_JsonObjectResolve, Fast, JsonPath::kFast);
BENCHMARK_CAPTURE(BM_JsonObjectResolve, OnDemandOnly, JsonPath::kOnDemandOnly);
BENCHMARK(BM_Csv);

}  // namespace

BENCHMARK_MAIN();
