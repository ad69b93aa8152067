// mscredd with a real (tiny) MSCRED checkpoint: train it, serve it over TCP, inject a shock
// into three sensors and expect the alert on the log sink to name them.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "mscred/connectors/sinks.h"
#include "mscred/daemon/daemon.h"
#include "mscred/model/train.h"
#include "test_util.h"
#include "tiny_model_util.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;

constexpr int kSensors = 8;
constexpr int kShockBegin = 200, kShockEnd = 220;
const std::set<std::string> kShocked = {"s1", "s4", "s6"};

// Two families of phase-shifted sine waves with a little noise: stable correlations the
// model can learn. The shock alternates +-3 on the shocked sensors.
double value(int t, int i, std::mt19937& rng, bool shock) {
  std::normal_distribution<double> noise(0.0, 0.03);
  const double period = i % 2 == 0 ? 40.0 : 25.0;
  double x = std::sin(2 * M_PI * t / period + 0.4 * i) + noise(rng);
  if (shock && t >= kShockBegin && t < kShockEnd && kShocked.count("s" + std::to_string(i))) {
    x += (t % 2) ? 3.0 : -3.0;
  }
  return x;
}

TEST(ModelIntegrationTest, TinyCheckpointAlertsOnShockedSensors) {
  std::vector<std::string> sensors;
  for (int i = 0; i < kSensors; ++i)
    sensors.push_back("s" + std::to_string(i));
  std::mt19937 train_rng(0);
  std::vector<double> rows;
  for (int t = 0; t < 600; ++t) {
    for (int i = 0; i < kSensors; ++i)
      rows.push_back(value(t, i, train_rng, false));
  }
  const std::string ckpt = ::testing::TempDir() + "mscredd_tiny.ckpt";
  model::TrainOptions o = testing::tiny_train_options("tiny", ckpt, 5);
  o.epochs = 10;
  o.patience = 5;
  o.seed = 1;
  o.score.theta = 0.05;  // a tiny model reconstructs coarsely; count only clear misses
  model::train(sensors, rows, o);

  std::FILE* log_file = std::tmpfile();
  ASSERT_NE(log_file, nullptr);
  connectors::LogSink log_sink(log_file);
  Daemon daemon(parse_config(testing::tiny_daemon_yaml("tiny", ckpt, 5), "model-test.yaml"),
                {&log_sink});
  daemon.start();

  std::mt19937 test_rng(7);
  std::ostringstream stream;
  for (int t = 0; t < 400; ++t) {
    stream << "{\"entity\": \"m1\", \"ts\": " << t << ", \"values\": [";
    for (int i = 0; i < kSensors; ++i)
      stream << (i ? ", " : "") << value(t, i, test_rng, true);
    stream << "]}\n";
  }
  int fd = testing::tcp_connect(daemon.tcp_port("tcp"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::send_all(fd, stream.str()));
  ::close(fd);
  // Steps every 5 samples; the first full window (10 + 2*5 samples) ends at sample 19.
  const uint64_t steps = (400 - 20) / 5 + 1;
  ASSERT_TRUE(testing::wait_until(
      [&] { return daemon.worker().stats().steps_scored.load() >= steps; }, 30s));
  ASSERT_TRUE(daemon.shutdown());

  std::fflush(log_file);
  std::rewind(log_file);
  char buf[1 << 14];
  int before = 0, during = 0;
  while (std::fgets(buf, sizeof buf, log_file) != nullptr) {
    auto a = nlohmann::json::parse(buf);
    EXPECT_EQ(a["labels"]["model"].get<std::string>().rfind("tiny", 0), 0u);
    double ts = a["annotations"]["step_ts"].get<double>();
    if (ts < kShockBegin) ++before;
    if (ts >= kShockBegin + 4 && ts < kShockEnd) {
      ++during;
      int hits = 0;
      for (const auto& s : a["annotations"]["top_sensors"]) {
        hits += kShocked.count(s["sensor"].get<std::string>());
      }
      EXPECT_GE(hits, 2) << buf;
    }
  }
  std::fclose(log_file);
  EXPECT_EQ(during, 4);  // steps ending at 204, 209, 214, 219
  EXPECT_LE(before, 4) << "false alarms before the shock (of 37 steps)";
  std::remove(ckpt.c_str());
}

}  // namespace
}  // namespace mscred::daemon
