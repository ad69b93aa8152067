#include "mscred/connectors/record.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace mscred::connectors {

namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// Control bytes other than tab/CR cannot occur in a text record; catching them first
// gives binary garbage its own reason instead of a confusing JSON error.
bool has_control_bytes(std::string_view line) {
  // Branch-free over the whole line, so the compiler vectorises it.
  unsigned bad = 0;
  for (unsigned char c : line)
    bad |= static_cast<unsigned>((c < 0x20) & (c != '\t') & (c != '\r')) | (c == 0x7f);
  return bad != 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? char(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// JSON has no NaN/Infinity, but producers written in Python emit them; naming them
// non_finite tells the operator what is wrong with the feed.
bool is_non_finite_token(std::string_view token) {
  token = trim(token);
  if (!token.empty() && (token.front() == '-' || token.front() == '+')) token.remove_prefix(1);
  if (!token.empty() && token.front() == '"') {
    token.remove_prefix(1);
    if (!token.empty() && token.back() == '"') token.remove_suffix(1);
  }
  return iequals(token, "nan") || iequals(token, "inf") || iequals(token, "infinity");
}

ParseStatus fail(RejectReason reason, std::string detail) {
  return {reason, std::move(detail)};
}

// Reads a JSON number into `out`, classifying what is wrong with anything else.
ParseStatus read_number(simdjson::ondemand::value value, const std::string& what, double& out) {
  std::string_view token = value.raw_json_token();
  if (is_non_finite_token(token)) return fail(RejectReason::kNonFinite, what + " is not finite");
  simdjson::ondemand::json_type type;
  if (value.type().get(type)) return fail(RejectReason::kMalformedJson, what + ": bad token");
  if (type != simdjson::ondemand::json_type::number) {
    return fail(RejectReason::kNonNumeric, what + " is not a number");
  }
  double v = 0.0;
  if (value.get_double().get(v)) {
    return fail(RejectReason::kNonNumeric, what + " is not a valid number");
  }
  if (!std::isfinite(v)) return fail(RejectReason::kNonFinite, what + " is not finite");
  // Windows are float32: a finite double beyond float range would become inf there.
  if (std::fabs(v) > std::numeric_limits<float>::max()) {
    return fail(RejectReason::kNonFinite, what + " is outside the float range");
  }
  out = v;
  return {};
}

ParseStatus classify_json_error(simdjson::error_code error, std::string_view line) {
  if (error == simdjson::UTF8_ERROR) return fail(RejectReason::kBinary, "invalid UTF-8");
  std::string_view t = trim(line);
  if (!t.empty() && t.front() == '{' && t.back() != '}') {
    return fail(RejectReason::kTruncated, "record ends before its closing '}'");
  }
  if (error == simdjson::UNCLOSED_STRING) {
    return fail(RejectReason::kTruncated, "unterminated string");
  }
  return fail(RejectReason::kMalformedJson, simdjson::error_message(error));
}

bool parse_double(std::string_view field, double& out) {
  field = trim(field);
  if (field.empty()) return false;
  if (field.front() == '+') field.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
  return ec == std::errc() && ptr == field.data() + field.size();
}

}  // namespace

const char* reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kEmpty:
      return "empty";
    case RejectReason::kTooLong:
      return "too_long";
    case RejectReason::kBinary:
      return "binary";
    case RejectReason::kMalformedJson:
      return "malformed_json";
    case RejectReason::kTruncated:
      return "truncated";
    case RejectReason::kMalformedCsv:
      return "malformed_csv";
    case RejectReason::kMissingField:
      return "missing_field";
    case RejectReason::kNonNumeric:
      return "non_numeric";
    case RejectReason::kNonFinite:
      return "non_finite";
    case RejectReason::kMissingSensor:
      return "missing_sensor";
    case RejectReason::kExtraSensor:
      return "extra_sensor";
    case RejectReason::kDuplicateSensor:
      return "duplicate_sensor";
    case RejectReason::kWrongLength:
      return "wrong_length";
    case RejectReason::kUnknownEntity:
      return "unknown_entity";
    case RejectReason::kOutOfOrder:
      return "out_of_order";
    case RejectReason::kDuplicateTs:
      return "duplicate_ts";
    case RejectReason::kFutureTs:
      return "future_ts";
    case RejectReason::kAuthFailed:
      return "auth_failed";
    case RejectReason::kMaxConnections:
      return "max_connections";
    case RejectReason::kTimeout:
      return "timeout";
    case RejectReason::kTlsHandshake:
      return "tls_handshake";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

struct RecordParser::Impl {
  simdjson::ondemand::parser parser;
  simdjson::dom::parser dom;
  std::string padded;  // line copy with SIMDJSON_PADDING spare bytes
  size_t last_named = 0;
};

namespace {

// A DOM number as the On Demand path would take it: finite, within float range.
bool dom_number(simdjson::dom::element value, double& out) {
  if (!value.is_number() || value.get_double().get(out)) return false;
  return std::isfinite(out) && std::fabs(out) <= std::numeric_limits<float>::max();
}

// The fast path: true when `buf` is a well-formed record with every field valid, and then
// `out` holds it exactly as parse_json_on_demand() would have filled it. false for
// anything else (including duplicate keys, which On Demand resolves in its own way): the
// caller re-parses with On Demand, which classifies the problem. `out` was cleared.
bool parse_json_dom(simdjson::dom::parser& dom, const std::string& buf, size_t length,
                    size_t expect_named, Record& out) {
  simdjson::dom::element root;
  if (dom.parse(buf.data(), length, false).get(root)) return false;
  simdjson::dom::object object;
  if (root.get_object().get(object)) return false;
  bool have_entity = false, have_ts = false, have_values = false;
  for (simdjson::dom::key_value_pair field : object) {
    if (field.key == "entity") {
      std::string_view entity;
      if (have_entity || field.value.get_string().get(entity) || entity.empty()) return false;
      out.entity.assign(entity);
      have_entity = true;
    } else if (field.key == "ts") {
      if (have_ts || !dom_number(field.value, out.ts)) return false;
      have_ts = true;
    } else if (field.key == "values") {
      if (have_values) return false;
      have_values = true;
      simdjson::dom::array array;
      simdjson::dom::object sensors;
      if (!field.value.get_array().get(array)) {
        out.values.reserve(array.size());
        for (simdjson::dom::element v : array) {
          double d = 0.0;
          if (!dom_number(v, d)) return false;
          out.values.push_back(d);
        }
      } else if (!field.value.get_object().get(sensors)) {
        out.is_named = true;
        out.named.reserve(expect_named);
        for (simdjson::dom::key_value_pair sensor : sensors) {
          double d = 0.0;
          if (!dom_number(sensor.value, d)) return false;
          out.named.emplace_back(sensor.key, d);
        }
      } else {
        return false;
      }
    }
  }
  return have_entity && have_ts && have_values;
}

}  // namespace

RecordParser::RecordParser(size_t max_line_bytes, JsonPath path)
    : impl_(std::make_unique<Impl>()), max_line_bytes_(max_line_bytes), path_(path) {}

RecordParser::~RecordParser() = default;

ParseStatus RecordParser::parse_auto(std::string_view line, Record& out) {
  std::string_view t = trim(line);
  if (!t.empty() && t.front() == '{') return parse_json(line, out);
  return parse_csv(line, out);
}

ParseStatus RecordParser::parse_json(std::string_view line, Record& out) {
  // Cheap checks first: they name the problem better than the JSON parser would.
  if (line.size() > max_line_bytes_) {
    return fail(RejectReason::kTooLong, "line of " + std::to_string(line.size()) + " bytes");
  }
  if (trim(line).empty()) return fail(RejectReason::kEmpty, "empty line");
  if (has_control_bytes(line)) return fail(RejectReason::kBinary, "control bytes in line");

  // simdjson reads up to SIMDJSON_PADDING bytes past the end, so parse from a padded copy
  // (its capacity is kept, so a steady stream of records allocates nothing here).
  std::string& buf = impl_->padded;
  buf.assign(line.data(), line.size());
  buf.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');

  out.kind = Record::Kind::kSample;
  out.entity.clear();
  out.values.clear();
  out.named.clear();
  out.is_named = false;

  if (path_ == JsonPath::kFast &&
      parse_json_dom(impl_->dom, buf, line.size(), impl_->last_named, out)) {
    if (out.is_named) impl_->last_named = out.named.size();
    return {};
  }
  return parse_json_on_demand(line, out);
}

// The original path, and the one that names every problem: On Demand over the padded
// copy already in impl_->padded.
ParseStatus RecordParser::parse_json_on_demand(std::string_view line, Record& out) {
  std::string& buf = impl_->padded;
  out.kind = Record::Kind::kSample;
  out.entity.clear();
  out.values.clear();
  out.named.clear();
  out.is_named = false;

  simdjson::ondemand::document doc;
  auto error = impl_->parser.iterate(buf.data(), line.size(), buf.size()).get(doc);
  if (error) return classify_json_error(error, line);
  simdjson::ondemand::object object;
  if ((error = doc.get_object().get(object))) {
    if (error == simdjson::INCORRECT_TYPE) {
      return fail(RejectReason::kMalformedJson, "record is not a JSON object");
    }
    return classify_json_error(error, line);
  }

  bool have_entity = false, have_ts = false, have_values = false;
  for (auto field : object) {
    std::string_view key;
    if ((error = field.unescaped_key().get(key))) return classify_json_error(error, line);
    simdjson::ondemand::value value;
    if ((error = field.value().get(value))) return classify_json_error(error, line);

    if (key == "entity") {
      std::string_view entity;
      if (value.get_string().get(entity) || entity.empty()) {
        return fail(RejectReason::kMissingField, "\"entity\" must be a non-empty string");
      }
      out.entity.assign(entity);
      have_entity = true;
    } else if (key == "ts") {
      ParseStatus s = read_number(value, "\"ts\"", out.ts);
      if (!s.ok()) return s;
      have_ts = true;
    } else if (key == "values") {
      simdjson::ondemand::json_type type;
      if ((error = value.type().get(type))) return classify_json_error(error, line);
      if (type == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array array;
        if ((error = value.get_array().get(array))) return classify_json_error(error, line);
        size_t i = 0;
        for (auto element : array) {
          simdjson::ondemand::value v;
          if ((error = element.get(v))) return classify_json_error(error, line);
          double d = 0.0;
          ParseStatus s = read_number(v, "values[" + std::to_string(i) + "]", d);
          if (!s.ok()) return s;
          out.values.push_back(d);
          ++i;
        }
      } else if (type == simdjson::ondemand::json_type::object) {
        simdjson::ondemand::object sensors;
        if ((error = value.get_object().get(sensors))) return classify_json_error(error, line);
        out.is_named = true;
        // Records of one feed have the same sensors: size for the previous one.
        out.named.reserve(impl_->last_named);
        for (auto sensor : sensors) {
          std::string_view name;
          if ((error = sensor.unescaped_key().get(name))) return classify_json_error(error, line);
          simdjson::ondemand::value v;
          if ((error = sensor.value().get(v))) return classify_json_error(error, line);
          double d = 0.0;
          ParseStatus s = read_number(v, "values.\"" + std::string(name) + "\"", d);
          if (!s.ok()) return s;
          out.named.emplace_back(std::string(name), d);
        }
      } else {
        return fail(RejectReason::kMalformedJson, "\"values\" must be an object or an array");
      }
      have_values = true;
    } else {
      // Unknown keys are skipped (On Demand skips an unread value) so producers may add
      // fields, e.g. a trace id.
    }
  }
  const char* rest = nullptr;
  if (!doc.current_location().get(rest))
    return fail(RejectReason::kMalformedJson, "trailing content after record");
  if (!have_entity) return fail(RejectReason::kMissingField, "no \"entity\"");
  if (!have_ts) return fail(RejectReason::kMissingField, "no \"ts\"");
  if (!have_values) return fail(RejectReason::kMissingField, "no \"values\"");
  if (out.is_named) impl_->last_named = out.named.size();
  return {};
}

ParseStatus RecordParser::parse_csv(std::string_view line, Record& out) {
  if (line.size() > max_line_bytes_) {
    return fail(RejectReason::kTooLong, "line of " + std::to_string(line.size()) + " bytes");
  }
  if (trim(line).empty()) return fail(RejectReason::kEmpty, "empty line");
  if (has_control_bytes(line)) return fail(RejectReason::kBinary, "control bytes in line");

  out.kind = Record::Kind::kSample;
  out.values.clear();
  out.named.clear();
  out.is_named = false;

  size_t column = 0;
  size_t start = 0;
  while (start <= line.size()) {
    size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) comma = line.size();
    std::string_view field = trim(line.substr(start, comma - start));
    ++column;
    if (column == 1) {
      if (field.empty()) return fail(RejectReason::kMalformedCsv, "column 1: empty entity");
      out.entity.assign(field);
    } else if (column == 2) {
      if (!parse_double(field, out.ts)) {
        return fail(RejectReason::kNonNumeric, "column 2 (ts) is not a number");
      }
      if (!std::isfinite(out.ts)) return fail(RejectReason::kNonFinite, "column 2 (ts)");
    } else if (field.empty()) {
      out.values.push_back(kMissing);
    } else {
      double v = 0.0;
      if (!parse_double(field, v)) {
        return fail(RejectReason::kNonNumeric,
                    "column " + std::to_string(column) + " is not a number");
      }
      if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<float>::max()) {
        return fail(RejectReason::kNonFinite,
                    "column " + std::to_string(column) + " is not finite as a float");
      }
      out.values.push_back(v);
    }
    start = comma + 1;
  }
  if (column < 3) return fail(RejectReason::kMalformedCsv, "need entity,ts and at least one value");
  return {};
}

SensorIndex::SensorIndex(std::vector<std::string> names) : names_(std::move(names)) {
  for (size_t i = 0; i < names_.size(); ++i)
    index_.emplace(names_[i], i);
}

long SensorIndex::find(std::string_view name) const {
  // std::unordered_map<std::string, ...> has no lookup by string_view before C++20; a
  // per-thread key buffer keeps the lookup free of allocation.
  thread_local std::string key;
  key.assign(name.data(), name.size());
  auto it = index_.find(key);
  return it == index_.end() ? -1 : static_cast<long>(it->second);
}

ParseStatus resolve_values(const Record& record, const SensorIndex& index, MissingPolicy policy,
                           const double* last_row, std::vector<double>& out) {
  const size_t n = index.size();
  out.assign(n, kMissing);
  if (record.is_named) {
    size_t guess = 0;
    for (const auto& [name, value] : record.named) {
      long pos = index.find(name, guess);
      guess = static_cast<size_t>(pos + 1);
      if (pos < 0) return fail(RejectReason::kExtraSensor, "unknown sensor \"" + name + "\"");
      if (!std::isnan(out[pos])) {
        return fail(RejectReason::kDuplicateSensor, "sensor \"" + name + "\" given twice");
      }
      out[pos] = value;
    }
  } else {
    if (record.values.size() != n) {
      return fail(RejectReason::kWrongLength,
                  std::to_string(record.values.size()) + " values, model has " + std::to_string(n));
    }
    out = record.values;
  }

  for (size_t i = 0; i < n; ++i) {
    if (!std::isnan(out[i])) continue;
    if (policy == MissingPolicy::kHoldLast && last_row != nullptr) {
      out[i] = last_row[i];
    } else {
      return fail(RejectReason::kMissingSensor, "no value for sensor \"" + index.names()[i] + "\"");
    }
  }
  return {};
}

}  // namespace mscred::connectors
