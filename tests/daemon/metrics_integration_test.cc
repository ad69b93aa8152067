// Prometheus end to end: scrape /metrics over HTTP, compare with what was sent, and run
// promtool's checker on the scrape.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "mscred/connectors/sinks.h"
#include "mscred/daemon/daemon.h"
#include "test_util.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;
using testing::json_record;

const char* kConfig = R"(
sources:
  - type: tcp
    listen: "127.0.0.1:0"
models:
  - name: m
    fake: {sensors: [a, b, c], level: 5}
entities:
  unknown: reject
  models: {e1: m, e2: m}
pipeline: {scales: [4, 8], step: 2, history: 2}
worker: {max_batch: 4, max_wait_ms: 2, queue_capacity: 128}
sinks: {log: {enabled: false}}
metrics: {listen: "127.0.0.1:0", max_entities: 1}
health: {listen: "127.0.0.1:0"}
logging: {level: error}
)";

// Value of the series written exactly as `series` (labels in prometheus-cpp's sorted
// order), or -1 if absent.
double metric(const std::string& scrape, const std::string& series) {
  std::istringstream in(scrape);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(MetricsIntegrationTest, ScrapeMatchesWhatWasSentAndPassesPromtool) {
  connectors::MemorySink sink;
  Daemon daemon(parse_config(kConfig, "metrics-test.yaml"), {&sink});
  daemon.start();
  ASSERT_GT(daemon.metrics_port(), 0);

  // e1: 30 samples with one shock (samples 20, 21); e2: 12 quiet samples; 3 samples of an
  // unmapped entity; 2 malformed lines, 1 non-numeric value, 1 NaN.
  std::string data;
  for (int i = 0; i < 30; ++i) {
    bool shock = i == 20 || i == 21;
    data += json_record("e1", i, 1, shock ? 8 : 1, 1) + "\n";
  }
  for (int i = 0; i < 12; ++i)
    data += json_record("e2", i, 1, 1, 1) + "\n";
  for (int i = 0; i < 3; ++i)
    data += json_record("zz", i, 1, 1, 1) + "\n";
  data += "{oops\n{\"entity\": 1}}\n";
  data += "{\"entity\": \"e1\", \"ts\": 99, \"values\": {\"a\": \"x\", \"b\": 1, \"c\": 1}}\n";
  data += "{\"entity\": \"e1\", \"ts\": 99, \"values\": [NaN, 1, 1]}\n";
  int fd = testing::tcp_connect(daemon.tcp_port("tcp"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::send_all(fd, data));
  ::close(fd);

  // Steps: window 10, step 2 -> e1: (30-10)/2+1 = 11, e2: (12-10)/2+1 = 2.
  const double steps = 11 + 2;
  ASSERT_TRUE(testing::wait_until(
      [&] { return daemon.worker().stats().steps_scored.load() >= steps; }, 10s));
  ASSERT_TRUE(
      testing::wait_until([&] { return daemon.worker().stats().records.load() >= 45; }, 5s));
  // Gauges refresh every 250 ms: wait until a scrape shows the refreshed ones (a fixed
  // sleep raced the refresh on a loaded machine).
  std::string scrape;
  ASSERT_TRUE(testing::wait_until(
      [&] {
        scrape = testing::http_get(daemon.metrics_port(), "/metrics");
        return metric(scrape, "mscred_entities") == 2 && metric(scrape, "mscred_ready") == 1;
      },
      5s))
      << scrape;
  EXPECT_NE(testing::http_get(daemon.metrics_port(), "/other").find("\"/metrics\""),
            std::string::npos);
  EXPECT_EQ(metric(scrape, "mscred_samples_ingested_total{source=\"tcp\"}"), 45);
  EXPECT_EQ(
      metric(scrape, "mscred_records_rejected_total{reason=\"unknown_entity\",source=\"tcp\"}"), 3);
  // "{oops" is cut short; {"entity": 1}} is valid JSON with a bad entity.
  EXPECT_EQ(metric(scrape, "mscred_records_rejected_total{reason=\"truncated\",source=\"tcp\"}"),
            1);
  EXPECT_EQ(
      metric(scrape, "mscred_records_rejected_total{reason=\"missing_field\",source=\"tcp\"}"), 1);
  EXPECT_EQ(metric(scrape, "mscred_records_rejected_total{reason=\"non_numeric\",source=\"tcp\"}"),
            1);
  EXPECT_EQ(metric(scrape, "mscred_records_rejected_total{reason=\"non_finite\",source=\"tcp\"}"),
            1);
  EXPECT_EQ(metric(scrape, "mscred_steps_scored_total{model=\"m\"}"), steps);
  EXPECT_EQ(metric(scrape, "mscred_alerts_total{severity=\"short\"}"), 1);
  EXPECT_EQ(static_cast<double>(sink.alerts().size()), 1);
  // max_entities: 1 -> only the first entity scored has score series.
  EXPECT_GE(metric(scrape, "mscred_score{entity=\"e1\",scale=\"4\"}"), 0);
  EXPECT_EQ(metric(scrape, "mscred_threshold{entity=\"e1\",scale=\"8\"}"), 0.5);
  EXPECT_EQ(metric(scrape, "mscred_score{entity=\"e2\",scale=\"4\"}"), -1);
  EXPECT_EQ(metric(scrape, "mscred_queue_capacity"), 128);
  EXPECT_EQ(metric(scrape, "mscred_entities"), 2);
  EXPECT_EQ(metric(scrape, "mscred_ready"), 1);
  EXPECT_EQ(metric(scrape,
                   "mscred_model_info{model=\"m\",scales=\"4,8\",sensors=\"3\",version=\"fake\"}"),
            1);
  EXPECT_GE(metric(scrape, "mscred_inference_duration_seconds_count"), 1);
  EXPECT_EQ(metric(scrape, "mscred_end_to_end_latency_seconds_count"), steps);
  // No sensor-pair labels anywhere.
  EXPECT_EQ(scrape.find("pair"), std::string::npos);

  // Readiness is up while serving (health on an ephemeral port).
  ASSERT_GT(daemon.health_port(), 0);
  EXPECT_NE(testing::http_get(daemon.health_port(), "/readyz").find("\"ready\""),
            std::string::npos);

  std::string path = ::testing::TempDir() + "mscred_scrape.txt";
  std::ofstream(path) << scrape;
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed";
  }
  int rc = std::system(("promtool check metrics < " + path).c_str());
  EXPECT_EQ(rc, 0) << "promtool check metrics failed on " << path;
  ASSERT_TRUE(daemon.shutdown());
}

}  // namespace
}  // namespace mscred::daemon
