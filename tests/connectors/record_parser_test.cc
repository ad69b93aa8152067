// The record parser and value resolution: every class of bad input gets its own reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>

#include "mscred/connectors/record.h"

namespace mscred::connectors {
namespace {

RejectReason json(const std::string& line, Record* out = nullptr, size_t max = 4096) {
  RecordParser p(max);
  Record r;
  RejectReason reason = p.parse_json(line, r).reason;
  if (out != nullptr) *out = r;
  return reason;
}

RejectReason csv(const std::string& line, Record* out = nullptr) {
  RecordParser p;
  Record r;
  RejectReason reason = p.parse_csv(line, r).reason;
  if (out != nullptr) *out = r;
  return reason;
}

TEST(RecordParserTest, ParsesObjectValues) {
  Record r;
  ASSERT_EQ(json(R"({"entity": "pump-1", "ts": 12.5, "values": {"a": 1, "b": -2.25e1}})", &r),
            RejectReason::kNone);
  EXPECT_EQ(r.entity, "pump-1");
  EXPECT_DOUBLE_EQ(r.ts, 12.5);
  ASSERT_TRUE(r.is_named);
  ASSERT_EQ(r.named.size(), 2u);
  EXPECT_EQ(r.named[0].first, "a");
  EXPECT_DOUBLE_EQ(r.named[0].second, 1.0);
  EXPECT_EQ(r.named[1].first, "b");
  EXPECT_DOUBLE_EQ(r.named[1].second, -22.5);
}

TEST(RecordParserTest, ParsesArrayValuesAndIgnoresUnknownKeys) {
  Record r;
  ASSERT_EQ(json(R"({"trace": {"id": [1,2]}, "values": [3, 4.5], "ts": 7, "entity": "e"})", &r),
            RejectReason::kNone);
  EXPECT_FALSE(r.is_named);
  ASSERT_EQ(r.values.size(), 2u);
  EXPECT_DOUBLE_EQ(r.values[0], 3.0);
  EXPECT_DOUBLE_EQ(r.values[1], 4.5);
  EXPECT_DOUBLE_EQ(r.ts, 7.0);
}

TEST(RecordParserTest, RejectsMalformedJson) {
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1, "values": [1,, 2]})"), RejectReason::kMalformedJson);
  EXPECT_EQ(json(R"([1, 2, 3])"), RejectReason::kMalformedJson);
  EXPECT_EQ(json(R"({"entity": "e" "ts": 1, "values": [1]})"), RejectReason::kMalformedJson);
}

TEST(RecordParserTest, RejectsTruncatedJson) {
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1, "values": [1, 2)"), RejectReason::kTruncated);
  EXPECT_EQ(json(R"({"entity": "e", "ts)"), RejectReason::kTruncated);
}

TEST(RecordParserTest, RejectsTooLongLine) {
  std::string line = R"({"entity": "e", "ts": 1, "values": [)" + std::string(200, '1') + "]}";
  EXPECT_EQ(json(line, nullptr, 100), RejectReason::kTooLong);
}

TEST(RecordParserTest, RejectsNonNumericValues) {
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1, "values": {"a": "high"}})"),
            RejectReason::kNonNumeric);
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1, "values": [true]})"), RejectReason::kNonNumeric);
  EXPECT_EQ(json(R"({"entity": "e", "ts": "noon", "values": [1]})"), RejectReason::kNonNumeric);
}

TEST(RecordParserTest, RejectsNanAndInfinity) {
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1, "values": [NaN]})"), RejectReason::kNonFinite);
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1, "values": {"a": -Infinity}})"),
            RejectReason::kNonFinite);
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1, "values": ["nan"]})"), RejectReason::kNonFinite);
  EXPECT_EQ(csv("e,1,2,inf"), RejectReason::kNonFinite);
  EXPECT_EQ(csv("e,1,nan,2"), RejectReason::kNonFinite);
}

TEST(RecordParserTest, RejectsMissingFields) {
  EXPECT_EQ(json(R"({"ts": 1, "values": [1]})"), RejectReason::kMissingField);
  EXPECT_EQ(json(R"({"entity": "e", "values": [1]})"), RejectReason::kMissingField);
  EXPECT_EQ(json(R"({"entity": "e", "ts": 1})"), RejectReason::kMissingField);
  EXPECT_EQ(json(R"({"entity": "", "ts": 1, "values": [1]})"), RejectReason::kMissingField);
}

TEST(RecordParserTest, RejectsEmptyLine) {
  EXPECT_EQ(json(""), RejectReason::kEmpty);
  EXPECT_EQ(json("   \r"), RejectReason::kEmpty);
  EXPECT_EQ(csv(""), RejectReason::kEmpty);
}

TEST(RecordParserTest, RejectsBinaryGarbage) {
  std::string garbage("\x00\x01\xff\xfe{\x02", 6);
  EXPECT_EQ(json(garbage), RejectReason::kBinary);
  EXPECT_EQ(csv(garbage), RejectReason::kBinary);
  // Invalid UTF-8 inside an otherwise valid record.
  EXPECT_EQ(json("{\"entity\": \"\xc3\x28\", \"ts\": 1, \"values\": [1]}"), RejectReason::kBinary);
}

TEST(RecordParserTest, ParsesCsvLineWithEmptyFieldAsMissing) {
  Record r;
  ASSERT_EQ(csv("pump-2, 3.5 ,1,,-4e2", &r), RejectReason::kNone);
  EXPECT_EQ(r.entity, "pump-2");
  EXPECT_DOUBLE_EQ(r.ts, 3.5);
  ASSERT_EQ(r.values.size(), 3u);
  EXPECT_DOUBLE_EQ(r.values[0], 1.0);
  EXPECT_TRUE(std::isnan(r.values[1]));
  EXPECT_DOUBLE_EQ(r.values[2], -400.0);
}

TEST(RecordParserTest, RejectsBadCsv) {
  EXPECT_EQ(csv("e,1"), RejectReason::kMalformedCsv);
  EXPECT_EQ(csv(",1,2"), RejectReason::kMalformedCsv);
  EXPECT_EQ(csv("e,x,2"), RejectReason::kNonNumeric);
  EXPECT_EQ(csv("e,1,2,3x"), RejectReason::kNonNumeric);
}

TEST(RecordParserTest, AutoPicksJsonOrCsv) {
  RecordParser p;
  Record r;
  EXPECT_TRUE(p.parse_auto(R"(  {"entity": "e", "ts": 1, "values": [1]})", r).ok());
  EXPECT_TRUE(p.parse_auto("e,1,2", r).ok());
}

class ResolveTest : public ::testing::Test {
 protected:
  SensorIndex index_{{"a", "b", "c"}};
  std::vector<double> out_;

  Record named(std::vector<std::pair<std::string, double>> values) {
    Record r;
    r.is_named = true;
    r.named = std::move(values);
    return r;
  }
};

TEST_F(ResolveTest, OrdersNamedValuesByModel) {
  auto s = resolve_values(named({{"c", 3}, {"a", 1}, {"b", 2}}), index_, MissingPolicy::kReject,
                          nullptr, out_);
  ASSERT_TRUE(s.ok()) << s.detail;
  EXPECT_EQ(out_, (std::vector<double>{1, 2, 3}));
}

TEST_F(ResolveTest, RejectsMissingSensor) {
  auto s =
      resolve_values(named({{"a", 1}, {"c", 3}}), index_, MissingPolicy::kReject, nullptr, out_);
  EXPECT_EQ(s.reason, RejectReason::kMissingSensor);
  EXPECT_NE(s.detail.find("\"b\""), std::string::npos);
}

TEST_F(ResolveTest, HoldLastFillsMissingSensor) {
  const double last[] = {10, 20, 30};
  auto s =
      resolve_values(named({{"a", 1}, {"c", 3}}), index_, MissingPolicy::kHoldLast, last, out_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(out_, (std::vector<double>{1, 20, 3}));
  // With no previous row there is nothing to hold.
  EXPECT_EQ(
      resolve_values(named({{"a", 1}}), index_, MissingPolicy::kHoldLast, nullptr, out_).reason,
      RejectReason::kMissingSensor);
}

TEST_F(ResolveTest, RejectsExtraAndDuplicateSensors) {
  EXPECT_EQ(resolve_values(named({{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}}), index_,
                           MissingPolicy::kReject, nullptr, out_)
                .reason,
            RejectReason::kExtraSensor);
  EXPECT_EQ(resolve_values(named({{"a", 1}, {"a", 2}, {"b", 2}, {"c", 3}}), index_,
                           MissingPolicy::kReject, nullptr, out_)
                .reason,
            RejectReason::kDuplicateSensor);
}

TEST_F(ResolveTest, RejectsWrongArrayLength) {
  Record r;
  r.values = {1, 2};
  EXPECT_EQ(resolve_values(r, index_, MissingPolicy::kReject, nullptr, out_).reason,
            RejectReason::kWrongLength);
  r.values = {1, 2, 3, 4};
  EXPECT_EQ(resolve_values(r, index_, MissingPolicy::kReject, nullptr, out_).reason,
            RejectReason::kWrongLength);
}

TEST(RejectReasonTest, NamesAreDistinctMetricLabels) {
  std::set<std::string> names;
  for (int i = 1; i < static_cast<int>(RejectReason::kCount); ++i) {
    std::string n = reject_reason_name(static_cast<RejectReason>(i));
    EXPECT_EQ(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << n;
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

// The fast (DOM) path and the On Demand path agree on every line: the same reason, and
// for accepted lines the same fields. Lines are valid records with random values printed
// with 17 digits (so the parsed double must equal the printed one exactly: an independent
// definition of the right value) and the same records mutated: a byte replaced by a JSON
// metacharacter or a letter, cut short, a key doubled, a value as a string or NaN.
TEST(RecordParserTest, FastPathAgreesWithOnDemandAndRoundTripsValues) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  const char metachars[] = "{}[]:,\"\\ -+.eE0aN";
  RecordParser fast(4096, JsonPath::kFast);
  RecordParser slow(4096, JsonPath::kOnDemandOnly);
  int accepted = 0, rejected = 0;
  char num[40];
  for (int k = 0; k < 3000; ++k) {
    const bool named = k % 2 == 0;
    std::vector<double> values;
    std::string line = "{\"entity\": \"m-" + std::to_string(k % 7) +
                       "\", \"ts\": " + std::to_string(k) + ", \"values\": " + (named ? "{" : "[");
    for (int i = 0; i < 5; ++i) {
      values.push_back(u(rng));
      std::snprintf(num, sizeof num, "%.17g", values.back());
      line += (i > 0 ? ", " : "") + (named ? "\"s" + std::to_string(i) + "\": " : "") + num;
    }
    line += named ? "}}" : "]}";
    const bool mutate = k % 3 != 0;
    if (mutate) {
      switch (rng() % 5) {
        case 0:
          line[rng() % line.size()] = metachars[rng() % (sizeof metachars - 1)];
          break;
        case 1:
          line.resize(rng() % line.size());
          break;
        case 2:
          line.insert(1, "\"ts\": 3, ");
          break;
        case 3:
          line.replace(line.find(num), std::strlen(num), rng() % 2 ? "\"7\"" : "NaN");
          break;
        default:
          line.insert(line.size() - 1, ", \"values\": [1]");
      }
    }
    Record a, b;
    ParseStatus sa = fast.parse_json(line, a);
    ParseStatus sb = slow.parse_json(line, b);
    ASSERT_EQ(sa.reason, sb.reason) << line << "\nfast: " << sa.detail << "\nslow: " << sb.detail;
    EXPECT_EQ(sa.detail, sb.detail) << line;
    if (!sa.ok()) {
      ++rejected;
      continue;
    }
    ++accepted;
    EXPECT_EQ(a.entity, b.entity);
    EXPECT_EQ(a.ts, b.ts);
    EXPECT_EQ(a.is_named, b.is_named);
    EXPECT_EQ(a.values, b.values) << line;
    EXPECT_EQ(a.named, b.named) << line;
    if (!mutate) {
      EXPECT_EQ(a.ts, static_cast<double>(k));
      for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(named ? a.named[i].second : a.values[i], values[i]) << line;
        if (named) {
          EXPECT_EQ(a.named[i].first, "s" + std::to_string(i));
        }
      }
    }
  }
  // Both kinds occurred (the mutations are not all harmless, nor all fatal).
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected, 500);
}

TEST(SensorIndexTest, GuessedPositionAndLookupAgree) {
  SensorIndex index({"alpha", "a_sensor_name_longer_than_sso", "c"});
  EXPECT_EQ(index.find("c", 2), 2);
  EXPECT_EQ(index.find("c", 0), 2);  // a wrong guess falls back to the lookup
  EXPECT_EQ(index.find("a_sensor_name_longer_than_sso", 7), 1);
  EXPECT_EQ(index.find("zeta", 1), -1);
  EXPECT_EQ(index.find("alph"), -1);
}

}  // namespace
}  // namespace mscred::connectors
