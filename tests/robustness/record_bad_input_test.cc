// Bad-input classes at the record parsers (connectors/record.h), as every source calls
// them: each line is rejected with its own reason (the `reason` label of
// mscred_records_rejected_total) and a detail naming the field, and the parser keeps
// working for the next line.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "mscred/connectors/record.h"

namespace {

using mscred::connectors::MissingPolicy;
using mscred::connectors::ParseStatus;
using mscred::connectors::Record;
using mscred::connectors::RecordParser;
using mscred::connectors::RejectReason;
using mscred::connectors::SensorIndex;

// Parses `line` with `parser` and returns the reason; `detail` gets the message.
RejectReason json_reason(const std::string& line, std::string* detail = nullptr) {
  RecordParser parser;
  Record r;
  ParseStatus s = parser.parse_json(line, r);
  if (detail != nullptr) *detail = s.detail;
  return s.reason;
}

RejectReason csv_reason(const std::string& line, std::string* detail = nullptr) {
  RecordParser parser;
  Record r;
  ParseStatus s = parser.parse_csv(line, r);
  if (detail != nullptr) *detail = s.detail;
  return s.reason;
}

TEST(RecordBadInputTest, MalformedJsonIsMalformedJson) {
  EXPECT_EQ(json_reason(R"({"entity" "e", "ts": 1, "values": [1]})"), RejectReason::kMalformedJson);
  EXPECT_EQ(json_reason(R"(["e", 1, [1]])"), RejectReason::kMalformedJson);
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":1,"values":[1]} {"x":1})"),
            RejectReason::kMalformedJson);
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":1,"values":"1,2"})"), RejectReason::kMalformedJson);
}

TEST(RecordBadInputTest, TruncatedJsonIsTruncated) {
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":1,"values":[1,2)"), RejectReason::kTruncated);
  EXPECT_EQ(json_reason(R"({"entity":"e)"), RejectReason::kTruncated);
}

TEST(RecordBadInputTest, TruncatedCsvLineIsMalformedCsv) {
  EXPECT_EQ(csv_reason("pump-1,17"), RejectReason::kMalformedCsv);
  EXPECT_EQ(csv_reason("pump-1"), RejectReason::kMalformedCsv);
  EXPECT_EQ(csv_reason(",1,2"), RejectReason::kMalformedCsv);
}

TEST(RecordBadInputTest, LineOverTheLimitIsTooLongInBothFormats) {
  RecordParser parser(64);
  Record r;
  const std::string json =
      R"({"entity":"e","ts":1,"values":[)" + std::string(40, '1') + ",2,3,4,5,6,7]}";
  ASSERT_GT(json.size(), 64u);
  EXPECT_EQ(parser.parse_json(json, r).reason, RejectReason::kTooLong);
  EXPECT_EQ(parser.parse_csv("e,1," + std::string(70, '1'), r).reason, RejectReason::kTooLong);
  // Exactly at the limit is still parsed.
  // (A fraction: 60 integer digits would exceed the float range and be non_finite.)
  std::string at_limit = "e,1,0." + std::string(58, '2');
  ASSERT_EQ(at_limit.size(), 64u);
  EXPECT_TRUE(parser.parse_csv(at_limit, r).ok());
}

TEST(RecordBadInputTest, NonNumericValueNamesTheField) {
  std::string detail;
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":1,"values":{"a":"high"}})", &detail),
            RejectReason::kNonNumeric);
  EXPECT_NE(detail.find("values.\"a\""), std::string::npos) << detail;
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":"noon","values":[1]})", &detail),
            RejectReason::kNonNumeric);
  EXPECT_NE(detail.find("ts"), std::string::npos) << detail;
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":1,"values":[1,null]})", &detail),
            RejectReason::kNonNumeric);
  EXPECT_NE(detail.find("values[1]"), std::string::npos) << detail;
  EXPECT_EQ(csv_reason("e,1,0.5,abc", &detail), RejectReason::kNonNumeric);
  EXPECT_NE(detail.find("column 4"), std::string::npos) << detail;
}

TEST(RecordBadInputTest, NanAndInfAreNonFinite) {
  for (const char* token : {"NaN", "nan", "-Infinity", "Infinity", "inf", "\"NaN\""}) {
    EXPECT_EQ(json_reason(std::string(R"({"entity":"e","ts":1,"values":[1,)") + token + "]}"),
              RejectReason::kNonFinite)
        << token;
  }
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":NaN,"values":[1]})"), RejectReason::kNonFinite);
  for (const char* token : {"nan", "inf", "-inf", "Infinity"}) {
    EXPECT_EQ(csv_reason(std::string("e,1,") + token), RejectReason::kNonFinite) << token;
  }
  EXPECT_EQ(csv_reason("e,inf,1"), RejectReason::kNonFinite);
}

TEST(RecordBadInputTest, NumberBeyondDoubleIsRejected) {
  // 1e999 overflows a double: it must not become +Inf inside an accepted record.
  for (RejectReason reason : {json_reason(R"({"entity":"e","ts":1,"values":[1e999]})"),
                              csv_reason("e,1,1e999"), csv_reason("e,1e999,1")}) {
    EXPECT_TRUE(reason == RejectReason::kNonFinite || reason == RejectReason::kNonNumeric)
        << reject_reason_name(reason);
  }
}

TEST(RecordBadInputTest, MissingFieldsAreMissingField) {
  EXPECT_EQ(json_reason(R"({"ts":1,"values":[1]})"), RejectReason::kMissingField);
  EXPECT_EQ(json_reason(R"({"entity":"e","values":[1]})"), RejectReason::kMissingField);
  EXPECT_EQ(json_reason(R"({"entity":"e","ts":1})"), RejectReason::kMissingField);
  EXPECT_EQ(json_reason(R"({"entity":"","ts":1,"values":[1]})"), RejectReason::kMissingField);
  EXPECT_EQ(json_reason(R"({"entity":7,"ts":1,"values":[1]})"), RejectReason::kMissingField);
}

TEST(RecordBadInputTest, EmptyMessagesAreEmpty) {
  for (const char* line : {"", "   ", "\r", "\t \r"}) {
    EXPECT_EQ(json_reason(line), RejectReason::kEmpty) << '"' << line << '"';
    EXPECT_EQ(csv_reason(line), RejectReason::kEmpty) << '"' << line << '"';
  }
}

TEST(RecordBadInputTest, BinaryGarbageIsBinary) {
  const std::string nul("e,1,\0\x01\x02", 7);
  EXPECT_EQ(csv_reason(nul), RejectReason::kBinary);
  EXPECT_EQ(json_reason(std::string("{\"entity\":\"e\x1b\",\"ts\":1,\"values\":[1]}")),
            RejectReason::kBinary);
  // Invalid UTF-8 inside a JSON string (a lone continuation byte, an overlong form).
  EXPECT_EQ(json_reason("{\"entity\":\"\x80\x80\",\"ts\":1,\"values\":[1]}"),
            RejectReason::kBinary);
  EXPECT_EQ(json_reason("{\"entity\":\"\xc0\xaf\",\"ts\":1,\"values\":[1]}"),
            RejectReason::kBinary);
}

TEST(RecordBadInputTest, ParserRecoversAfterEveryBadLine) {
  // One parser, as a TCP connection holds it: a bad line must not spoil the next.
  RecordParser parser(256);
  const std::vector<std::string> bad = {"{\"entity\":",
                                        "\x01\x02\x03",
                                        std::string(300, 'x'),
                                        "[1,2]",
                                        "",
                                        "{\"ts\":1}",
                                        "{\"entity\":\"e\",\"ts\":1,\"values\":[NaN]}"};
  for (const auto& line : bad) {
    Record r;
    EXPECT_FALSE(parser.parse_auto(line, r).ok());
    Record good;
    ASSERT_TRUE(parser.parse_auto(R"({"entity":"pump","ts":5,"values":[1.5,2.5]})", good).ok());
    EXPECT_EQ(good.entity, "pump");
    EXPECT_EQ(good.ts, 5.0);
    ASSERT_EQ(good.values.size(), 2u);
    EXPECT_EQ(good.values[1], 2.5);
  }
}

// Sensor set and array length checks happen when a record meets its model's sensors.
class ResolveTest : public ::testing::Test {
 protected:
  ParseStatus resolve(const std::string& line, MissingPolicy policy = MissingPolicy::kReject,
                      const double* last = nullptr) {
    RecordParser parser;
    Record r;
    ParseStatus s = parser.parse_auto(line, r);
    if (!s.ok()) return s;
    return resolve_values(r, index_, policy, last, out_);
  }
  SensorIndex index_{{"a", "b", "c"}};
  std::vector<double> out_;
};

TEST_F(ResolveTest, MissingSensorIsMissingSensorUnlessHoldLast) {
  ParseStatus s = resolve(R"({"entity":"e","ts":1,"values":{"a":1,"c":3}})");
  EXPECT_EQ(s.reason, RejectReason::kMissingSensor);
  EXPECT_NE(s.detail.find("\"b\""), std::string::npos) << s.detail;
  const double last[3] = {10, 20, 30};
  ASSERT_TRUE(
      resolve(R"({"entity":"e","ts":1,"values":{"a":1,"c":3}})", MissingPolicy::kHoldLast, last)
          .ok());
  EXPECT_EQ(out_, (std::vector<double>{1, 20, 3}));
  // hold_last with no previous row still rejects.
  EXPECT_EQ(resolve("e,1,1,,3", MissingPolicy::kHoldLast, nullptr).reason,
            RejectReason::kMissingSensor);
}

TEST_F(ResolveTest, ExtraSensorIsExtraSensor) {
  ParseStatus s = resolve(R"({"entity":"e","ts":1,"values":{"a":1,"b":2,"c":3,"d":4}})");
  EXPECT_EQ(s.reason, RejectReason::kExtraSensor);
  EXPECT_NE(s.detail.find("\"d\""), std::string::npos) << s.detail;
}

TEST_F(ResolveTest, DuplicateSensorIsDuplicateSensor) {
  EXPECT_EQ(resolve(R"({"entity":"e","ts":1,"values":{"a":1,"b":2,"a":3,"c":4}})").reason,
            RejectReason::kDuplicateSensor);
}

TEST_F(ResolveTest, WrongArrayLengthIsWrongLength) {
  EXPECT_EQ(resolve(R"({"entity":"e","ts":1,"values":[1,2]})").reason, RejectReason::kWrongLength);
  EXPECT_EQ(resolve(R"({"entity":"e","ts":1,"values":[1,2,3,4]})").reason,
            RejectReason::kWrongLength);
  EXPECT_EQ(resolve("e,1,1,2").reason, RejectReason::kWrongLength);
  EXPECT_TRUE(resolve("e,1,1,2,3").ok());
  EXPECT_EQ(out_, (std::vector<double>{1, 2, 3}));
}

}  // namespace

// Regression (robustness review): 1e300 is a finite double but inf as the float32 the
// windows hold; it poisoned the entity's signature matrices before it was rejected.
TEST(RecordBadInputTest, ValueBeyondFloatRangeIsNonFinite) {
  RecordParser parser(1024);
  Record r;
  EXPECT_EQ(parser.parse_json(R"({"entity":"e","ts":1,"values":[1e300]})", r).reason,
            RejectReason::kNonFinite);
  EXPECT_EQ(parser.parse_csv("e,1,-1e39", r).reason, RejectReason::kNonFinite);
  EXPECT_TRUE(parser.parse_csv("e,1,3e38", r).ok());
}
