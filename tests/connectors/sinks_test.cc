// Alert JSON shape (labels for routing, annotations for people) and the log sink.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "mscred/connectors/sinks.h"

namespace mscred::connectors {
namespace {

Alert sample_alert() {
  Alert a;
  a.entity = "pump-7";
  a.step_ts = 1700000000.5;
  a.severity = "medium";
  a.scales = {10, 30};
  a.scores = {12, 4};
  a.thresholds = {3.5, 2.0};
  a.top_sensors = {{"temp", 9, 1.25}, {"rpm", 3, 0.5}};
  a.top_pairs = {{"rpm", "temp", 0.75}};
  a.model_id = "pumps-v2";
  a.instance = "host-a";
  return a;
}

TEST(AlertJsonTest, LabelsCarryRoutingKeys) {
  auto j = nlohmann::json::parse(alert_to_json(sample_alert()));
  EXPECT_EQ(j["labels"]["alertname"], "MscredAnomaly");
  EXPECT_EQ(j["labels"]["entity"], "pump-7");
  EXPECT_EQ(j["labels"]["severity"], "medium");
  EXPECT_EQ(j["labels"]["model"], "pumps-v2");
  EXPECT_EQ(j["labels"]["instance"], "host-a");
  // Labels stay low-cardinality strings: nothing per-step in them.
  EXPECT_EQ(j["labels"].size(), 5u);
}

TEST(AlertJsonTest, AnnotationsCarryScoresAndRootCause) {
  auto j = nlohmann::json::parse(alert_to_json(sample_alert()));
  const auto& an = j["annotations"];
  EXPECT_DOUBLE_EQ(an["step_ts"].get<double>(), 1700000000.5);
  EXPECT_DOUBLE_EQ(an["scores"]["10"].get<double>(), 12.0);
  EXPECT_DOUBLE_EQ(an["scores"]["30"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(an["thresholds"]["10"].get<double>(), 3.5);
  ASSERT_EQ(an["top_sensors"].size(), 2u);
  EXPECT_EQ(an["top_sensors"][0]["sensor"], "temp");
  EXPECT_EQ(an["top_sensors"][0]["count"], 9);
  EXPECT_DOUBLE_EQ(an["top_sensors"][0]["residual_mass"].get<double>(), 1.25);
  ASSERT_EQ(an["top_pairs"].size(), 1u);
  EXPECT_EQ(an["top_pairs"][0]["a"], "rpm");
  EXPECT_EQ(an["top_pairs"][0]["b"], "temp");
  EXPECT_NE(an["summary"].get<std::string>().find("temp"), std::string::npos);
}

TEST(LogSinkTest, WritesOneJsonLinePerAlert) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  LogSink sink(f);
  sink.publish(sample_alert());
  sink.publish(sample_alert());
  ASSERT_TRUE(sink.flush(std::chrono::milliseconds(10)));
  std::rewind(f);
  char buf[8192];
  int lines = 0;
  while (std::fgets(buf, sizeof buf, f) != nullptr) {
    auto j = nlohmann::json::parse(buf);
    EXPECT_EQ(j["labels"]["entity"], "pump-7");
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  std::fclose(f);
}

}  // namespace
}  // namespace mscred::connectors
