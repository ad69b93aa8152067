#pragma once
// Records as sources hand them to the daemon, and the parsers that make them from text.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mscred::connectors {

//! Why a record was rejected. The string form (reject_reason_name) is the `reason` label of
//! `mscred_records_rejected_total`, so the set is closed and small.
enum class RejectReason : uint8_t {
  kNone = 0,
  kEmpty,            // blank line
  kTooLong,          // line longer than the source's max_line_bytes
  kBinary,           // control bytes or invalid UTF-8
  kMalformedJson,    // not JSON, or JSON that is not an object
  kTruncated,        // JSON cut short (unterminated object/string)
  kMalformedCsv,     // too few fields, empty entity
  kMissingField,     // no entity / ts / values
  kNonNumeric,       // a value or ts that is not a number
  kNonFinite,        // NaN or +-Inf
  kMissingSensor,    // object form lacks a model sensor (and policy is reject)
  kExtraSensor,      // object form names a sensor the model does not have
  kDuplicateSensor,  // object form names a sensor twice
  kWrongLength,      // array form with a length other than the model's sensor count
  kUnknownEntity,    // entity has no model and no default model is configured
  kOutOfOrder,       // ts older than the entity's last accepted ts
  kDuplicateTs,      // ts equal to the entity's last accepted ts
  kFutureTs,         // ts too far beyond the entity's last ts, or ahead of the wall clock
  // Connection-level (TCP): each counts one connection, not a record.
  kAuthFailed,      // first line was not `AUTH <token>`; the connection is closed
  kMaxConnections,  // refused: sources[].max_connections clients already connected
  kTimeout,         // closed: idle longer than idle_timeout_s, or a line (or the
                    // handshake, or the AUTH line) not complete within line_timeout_s
  kTlsHandshake,    // closed: the TLS handshake failed (not TLS, bad or missing client cert)
  kCount
};

//! Metric/log name of a reason, e.g. "malformed_json".
const char* reject_reason_name(RejectReason reason);

class AckTarget;

//! Identifies a record to the source that produced it, so the source can learn when it
//! has been processed (Kafka stores its offset then). Sources without acknowledgement
//! leave `target` null.
struct AckToken {
  AckTarget* target = nullptr;
  int32_t partition = -1;
  int64_t offset = -1;
};

//! Told by the worker thread when a record is fully processed: the step it fed has been
//! scored and its alert (if any) handed to the sinks, or it was rejected. Implementations
//! must be thread-safe (called from the worker thread) and must not block for long.
class AckTarget {
 public:
  virtual ~AckTarget() = default;
  virtual void done(const AckToken& token) = 0;
};

inline void ack(const AckToken& token) {
  if (token.target != nullptr) token.target->done(token);
}

//! One sample of one entity, as parsed by a source. Values come either in model sensor
//! order (`values`, array/CSV form) or by sensor name (`named`, object form); the worker
//! resolves names against the entity's model with resolve_values().
struct Record {
  enum class Kind : uint8_t {
    kSample,       // a sample (or a record that failed to parse: see `reject`)
    kResetEntity,  // drop the entity's streaming state (Kafka partition revoked)
  };
  Kind kind = Kind::kSample;
  std::string entity;
  double ts = 0.0;
  bool is_named = false;
  std::vector<double> values;                         // NaN = missing (CSV empty field)
  std::vector<std::pair<std::string, double>> named;  // object form
  const char* source = "";  // name of the source (static lifetime: the source object)
  std::chrono::steady_clock::time_point ingest_time{};
  AckToken ack;
  //! Re-read only to warm the entity's windows (a Kafka partition rewound before its
  //! committed offset): a step that such a record completes was scored before the restart
  //! and is not scored again.
  bool replay = false;
};

//! Result of parsing one line: kNone on success, else a reason and a detail that names
//! the field or column.
struct ParseStatus {
  RejectReason reason = RejectReason::kNone;
  std::string detail;
  bool ok() const { return reason == RejectReason::kNone; }
};

//! How parse_json() reads JSON. kFast: simdjson's DOM parser, whose kernel (haswell,
//! icelake, ...) is chosen for the CPU at run time, takes every well-formed record; any
//! record it does not accept outright is parsed again by the On Demand path, which gives
//! the reject reason, so reasons do not depend on the path. kOnDemandOnly: only the On
//! Demand path (its kernel is fixed by the compiler flags: the portable fallback in a
//! default x86-64 build); for the benchmark and the equivalence tests.
enum class JsonPath : uint8_t { kFast, kOnDemandOnly };

//! Parses newline-delimited JSON records with simdjson and CSV lines `entity,ts,v1,...`.
//! Holds simdjson's parsers and a padded copy buffer, so it is reused per thread (one per
//! connection or poll loop); not thread-safe; never blocks.
class RecordParser {
 public:
  explicit RecordParser(size_t max_line_bytes = 1 << 20, JsonPath path = JsonPath::kFast);
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  //! `{"entity": "...", "ts": <number>, "values": {...} | [...]}`; other keys are ignored.
  ParseStatus parse_json(std::string_view line, Record& out);
  //! `entity,ts,v1,...,vn`; an empty value field is a missing value (NaN).
  ParseStatus parse_csv(std::string_view line, Record& out);
  //! JSON when the first non-blank byte is '{', else CSV.
  ParseStatus parse_auto(std::string_view line, Record& out);

  size_t max_line_bytes() const { return max_line_bytes_; }

 private:
  struct Impl;
  ParseStatus parse_json_on_demand(std::string_view line, Record& out);
  std::unique_ptr<Impl> impl_;
  size_t max_line_bytes_;
  JsonPath path_;
};

//! Sensor names of a model and their positions, for resolving object-form records.
class SensorIndex {
 public:
  SensorIndex() = default;
  explicit SensorIndex(std::vector<std::string> names);
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  //! Position of `name`, or -1. Allocates nothing once a thread has looked up its
  //! longest name.
  long find(std::string_view name) const;
  //! Position of `name`, trying `guess` first (records usually list sensors in model
  //! order, so the next position is a one-compare hit).
  long find(std::string_view name, size_t guess) const {
    return guess < names_.size() && names_[guess] == name ? static_cast<long>(guess) : find(name);
  }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;
};

//! What to do with a missing sensor value (object form lacking a sensor, empty CSV field).
enum class MissingPolicy : uint8_t {
  kReject,    // reject the record (reason missing_sensor)
  kHoldLast,  // use the entity's previous value of that sensor; reject if there is none
};

//! Puts `record`'s values into `out` (size index.size(), model order). `last_row` is the
//! entity's previous accepted row (nullptr if none), used by kHoldLast. Non-finite
//! values were rejected by the parser; a NaN here means "missing".
ParseStatus resolve_values(const Record& record, const SensorIndex& index, MissingPolicy policy,
                           const double* last_row, std::vector<double>& out);

}  // namespace mscred::connectors
