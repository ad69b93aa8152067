// mscredd on a real SMD slice: train a tiny MSCRED on the first rows of machine-1-6 (38
// sensors), serve it over TCP, send the following rows with a shock on three sensors and one
// malformed line, and expect the alerts inside the shock to name the shocked sensors.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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

constexpr int kSensors = 38;
constexpr int kTrainRows = 700;  // rows 0..699 of the file
constexpr int kTestRows = 300;   // rows 700..999, ts 0..299
// Shocked samples (test ts); the shocked sensors are held at 1.0 (the top of SMD's [0, 1]) there.
constexpr int kShockBegin = 150, kShockEnd = 200;
// Sensors with a training range of roughly 0.4-0.6 (c1: 0.007-0.41, c11: 0.009-0.47,
// c29: 0.05-0.64), so the shock is far outside what the model saw.
const std::set<int> kShocked = {1, 11, 29};
// The malformed line comes before test sample kBadBefore (it is line kBadBefore + 1).
constexpr int kBadBefore = 100;
// Scales 5 and 10, step 10, history 3: a step every 10 samples, the first one at sample 29.
constexpr int kLongestWindow = 10;

std::string sensor_name(int i) {
  return "c" + std::to_string(i);
}

// First `rows` rows of an SMD .txt file (38 comma-separated values per row, no header).
std::vector<std::vector<double>> read_smd(const std::string& path, int rows) {
  std::vector<std::vector<double>> out;
  std::ifstream in(path);
  std::string line;
  while (static_cast<int>(out.size()) < rows && std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ','))
      row.push_back(std::stod(cell));
    if (row.size() != kSensors) throw std::runtime_error("bad SMD row: " + line);
    out.push_back(std::move(row));
  }
  return out;
}

TEST(SmdTcpIntegrationTest, ShockInRealSliceAlertsNamingShockedSensorsAndBadLineIsSkipped) {
  const std::string path = MSCRED_SHARED_DIR "/data/smd/ServerMachineDataset/train/machine-1-6.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no SMD data at " << path;
  auto data = read_smd(path, kTrainRows + kTestRows);
  ASSERT_EQ(data.size(), static_cast<size_t>(kTrainRows + kTestRows));

  std::vector<std::string> sensors;
  for (int i = 0; i < kSensors; ++i)
    sensors.push_back(sensor_name(i));
  std::vector<double> rows;
  for (int t = 0; t < kTrainRows; ++t)
    rows.insert(rows.end(), data[t].begin(), data[t].end());
  const std::string ckpt = ::testing::TempDir() + "mscredd_smd_tiny.ckpt";
  model::TrainOptions o = testing::tiny_train_options("smd-tiny", ckpt, 10);
  // One epoch is what 2 cores allow at n = 38 (~20 s with shuffled batches, less with the
  // forecast default's contiguous ones). Such a model reconstructs coarsely (validation loss
  // ~0.18 when measured with shuffled batches; at theta 0.3 about 500 of the 1444 elements of
  // a normal step exceed it), so count only gross misses.
  o.epochs = 1;
  o.patience = 1;
  o.seed = 0;
  o.score.theta = 2.0;
  model::train(sensors, rows, o);

  std::FILE* log_file = std::tmpfile();
  ASSERT_NE(log_file, nullptr);
  connectors::LogSink log_sink(log_file);
  Daemon daemon(parse_config(testing::tiny_daemon_yaml("smd", ckpt, 10), "smd-test.yaml"),
                {&log_sink});
  daemon.start();

  std::ostringstream stream;
  for (int t = 0; t < kTestRows; ++t) {
    if (t == kBadBefore) stream << "{\"entity\": \"machine-1-6\", \"ts\": 99.5, \"values\": [1,\n";
    stream << "{\"entity\": \"machine-1-6\", \"ts\": " << t << ", \"values\": [";
    for (int i = 0; i < kSensors; ++i) {
      double x = data[kTrainRows + t][i];
      if (t >= kShockBegin && t < kShockEnd && kShocked.count(i)) x = 1.0;
      stream << (i ? ", " : "") << x;
    }
    stream << "]}\n";
  }
  int fd = testing::tcp_connect(daemon.tcp_port("tcp"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::send_all(fd, stream.str()));
  ::shutdown(fd, SHUT_WR);
  std::string reply = testing::read_available(fd, 2s);
  ::close(fd);
  EXPECT_NE(reply.find("error line " + std::to_string(kBadBefore + 1) + ": truncated"),
            std::string::npos)
      << reply;

  // Every accepted sample is scored: the first full window (10 + 2*10) ends at sample 29.
  const uint64_t steps = (kTestRows - 30) / 10 + 1;
  ASSERT_TRUE(testing::wait_until(
      [&] { return daemon.worker().stats().steps_scored.load() >= steps; }, 30s));
  ASSERT_TRUE(daemon.shutdown());
  EXPECT_EQ(daemon.worker().stats().steps_scored.load(), steps);
  EXPECT_EQ(daemon.worker().stats().records.load(), static_cast<uint64_t>(kTestRows));
  EXPECT_EQ(daemon.ingest().rejects(), 1u);

  std::set<std::string> shocked;
  for (int i : kShocked)
    shocked.insert(sensor_name(i));
  std::fflush(log_file);
  std::rewind(log_file);
  char buf[1 << 14];
  int inside = 0, outside = 0;
  while (std::fgets(buf, sizeof buf, log_file) != nullptr) {
    auto a = nlohmann::json::parse(buf);
    EXPECT_EQ(a["labels"]["entity"], "machine-1-6");
    double ts = a["annotations"]["step_ts"].get<double>();
    if (ts < kShockBegin || ts >= kShockEnd + kLongestWindow) {
      ++outside;
      continue;
    }
    ++inside;
    int hits = 0;
    for (const auto& s : a["annotations"]["top_sensors"])
      hits += shocked.count(s["sensor"].get<std::string>());
    EXPECT_GE(hits, 2) << buf;
  }
  std::fclose(log_file);
  EXPECT_GE(inside, 1) << "no alert in steps " << kShockBegin << ".." << kShockEnd + kLongestWindow;
  // Reported, not asserted: the slice itself leaves the training range (c18-c21 reach 0.9
  // where training saw at most 0.69), so a tiny model may alert outside the shock.
  std::printf("alerts inside the shock: %d, outside: %d (of %d steps)\n", inside, outside,
              static_cast<int>(steps));
  std::remove(ckpt.c_str());
}

}  // namespace
}  // namespace mscred::daemon
