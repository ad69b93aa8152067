// TCP end to end, in process: clients -> TcpSource -> worker (fake scorer) -> log sink.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "mscred/connectors/sinks.h"
#include "mscred/daemon/daemon.h"
#include "test_util.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;
using testing::json_record;

// Window = 8 + (2-1)*2 = 10 samples; a step every 2 samples.
const char* kConfig = R"(
sources:
  - type: tcp
    listen: "127.0.0.1:0"
    max_line_bytes: 512
models:
  - name: m
    fake: {sensors: [a, b, c], level: 5}
entities: {unknown: default, default_model: m}
pipeline: {scales: [4, 8], step: 2, history: 2}
worker: {max_batch: 8, max_wait_ms: 2}
sinks:
  instance: it
  log: {enabled: false}
metrics: {enabled: false}
logging: {level: warn}
health: {listen: "127.0.0.1:0"}
)";

// Steps scored for `samples` valid samples of one entity (window 10, step 2).
size_t expected_steps(size_t samples) {
  return samples < 10 ? 0 : (samples - 10) / 2 + 1;
}

std::vector<nlohmann::json> read_lines(std::FILE* f) {
  std::vector<nlohmann::json> out;
  std::fflush(f);
  std::rewind(f);
  char buf[1 << 14];
  while (std::fgets(buf, sizeof buf, f) != nullptr)
    out.push_back(nlohmann::json::parse(buf));
  return out;
}

TEST(TcpIntegrationTest, ShockAlertsOnLogSinkAndBadLineDoesNotStopTheStream) {
  std::FILE* log_file = std::tmpfile();
  ASSERT_NE(log_file, nullptr);
  connectors::LogSink log_sink(log_file);
  Daemon daemon(parse_config(kConfig, "tcp-test.yaml"), {&log_sink});
  daemon.start();
  int port = daemon.tcp_port("tcp");
  ASSERT_GT(port, 0);

  // Client 1: 40 samples of e1, a malformed line after the 20th, a shock on b and c at
  // samples 30 and 31 (the step that ends at sample 31). Client 2: 20 quiet samples of e2.
  std::string stream1;
  for (int i = 0; i < 40; ++i) {
    if (i == 20) stream1 += "{\"entity\": \"e1\", \"ts\": 20.5, \"values\": {\"a\": 1,\n";
    bool shock = i == 30 || i == 31;
    stream1 += json_record("e1", i, 1.0, shock ? 12.0 : 1.0, shock ? -9.0 : 1.0) + "\n";
  }
  std::string stream2;
  for (int i = 0; i < 20; ++i)
    stream2 += "e2," + std::to_string(i) + ",1,1,1\n";

  int fd1 = testing::tcp_connect(port);
  int fd2 = testing::tcp_connect(port);
  ASSERT_GE(fd1, 0);
  ASSERT_GE(fd2, 0);
  std::thread t2([&] { testing::send_all(fd2, stream2); });
  ASSERT_TRUE(testing::send_all(fd1, stream1));
  t2.join();
  ::shutdown(fd1, SHUT_WR);
  ::shutdown(fd2, SHUT_WR);

  // The broken line is line 21 of client 1 and is answered on its connection.
  std::string reply = testing::read_available(fd1, 2s);
  EXPECT_NE(reply.find("error line 21: truncated"), std::string::npos) << reply;
  ::close(fd1);
  ::close(fd2);

  const size_t steps = expected_steps(40) + expected_steps(20);
  ASSERT_TRUE(testing::wait_until(
      [&] { return daemon.worker().stats().steps_scored.load() >= steps; }, 10s));
  ASSERT_TRUE(daemon.shutdown());
  EXPECT_EQ(daemon.worker().stats().steps_scored.load(), steps);
  EXPECT_EQ(daemon.ingest().rejects(), 1u);

  auto alerts = read_lines(log_file);
  ASSERT_EQ(alerts.size(), 1u);
  const auto& a = alerts[0];
  EXPECT_EQ(a["labels"]["entity"], "e1");
  EXPECT_EQ(a["labels"]["instance"], "it");
  EXPECT_DOUBLE_EQ(a["annotations"]["step_ts"].get<double>(), 31.0);
  std::set<std::string> named;
  for (const auto& s : a["annotations"]["top_sensors"])
    named.insert(s["sensor"].get<std::string>());
  EXPECT_EQ(named, (std::set<std::string>{"b", "c"}));
  std::fclose(log_file);
}

TEST(TcpIntegrationTest, OverlongLineIsRejectedAndTheNextLineScored) {
  connectors::MemorySink sink;
  Daemon daemon(parse_config(kConfig, "tcp-test.yaml"), {&sink});
  daemon.start();
  int fd = testing::tcp_connect(daemon.tcp_port("tcp"));
  ASSERT_GE(fd, 0);
  std::string data = std::string(2000, 'x') + "\n";  // max_line_bytes is 512
  for (int i = 0; i < 10; ++i)
    data += json_record("e", i, 1, 1, 1) + "\n";
  ASSERT_TRUE(testing::send_all(fd, data));
  ::shutdown(fd, SHUT_WR);
  std::string reply = testing::read_available(fd, 2s);
  ::close(fd);
  EXPECT_NE(reply.find("error line 1: too_long"), std::string::npos) << reply;
  ASSERT_TRUE(
      testing::wait_until([&] { return daemon.worker().stats().steps_scored.load() >= 1; }, 5s));
  ASSERT_TRUE(daemon.shutdown());
  EXPECT_EQ(daemon.worker().stats().records.load(), 10u);
}

}  // namespace
}  // namespace mscred::daemon
