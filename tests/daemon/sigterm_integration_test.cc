// SIGHUP then SIGTERM during a stream: the real mscredd binary reloads its model, then
// exits 0 with everything it accepted scored and every alert written.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace mscred::daemon {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SigtermIntegrationTest, ExitsZeroWithEverythingDeliveredAfterReload) {
  const std::string binary = std::string(MSCRED_BINARY_DIR) + "/daemon/mscredd";
  if (access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << "mscredd not built";
  const std::string dir = ::testing::TempDir();
  const std::string config = dir + "mscredd_sigterm.yaml";
  const std::string out = dir + "mscredd_sigterm.out";
  const std::string err = dir + "mscredd_sigterm.err";
  std::ofstream(config) << R"(
sources:
  - {type: tcp, listen: "127.0.0.1:0"}
models:
  - {name: m, fake: {sensors: [a, b, c], level: 5}}
entities: {unknown: default, default_model: m}
pipeline: {scales: [4, 8], step: 2, history: 2}
worker: {max_batch: 16, max_wait_ms: 2, queue_capacity: 256}
metrics: {enabled: false}
health: {listen: "127.0.0.1:0"}
shutdown: {drain_deadline_s: 10}
)";

  std::remove(out.c_str());
  std::remove(err.c_str());  // a stale log would show a stale port

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    freopen(out.c_str(), "w", stdout);
    freopen(err.c_str(), "w", stderr);
    execl(binary.c_str(), binary.c_str(), "--config", config.c_str(), nullptr);
    _exit(127);
  }

  // If an assertion below fails, do not leave the daemon running.
  struct Reaper {
    pid_t pid;
    bool reaped = false;
    ~Reaper() {
      if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};

  // The ephemeral port is in the start-up log.
  int port = 0;
  std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
  ASSERT_TRUE(testing::wait_until(
      [&] {
        std::smatch m;
        std::string log = slurp(err);
        if (!std::regex_search(log, m, listening)) return false;
        port = std::stoi(m[1]);
        return true;
      },
      10s))
      << slurp(err);

  // Stream for up to 2 s: a shock on b at samples 50k+30 and 50k+31 (the step ending
  // at sample 50k+31), bursts of 100 samples every 5 ms.
  int fd = testing::tcp_connect(port);
  ASSERT_GE(fd, 0);
  std::atomic<bool> stop{false};
  std::thread client([&] {
    int i = 0;
    auto end = std::chrono::steady_clock::now() + 2s;
    while (!stop.load() && std::chrono::steady_clock::now() < end) {
      std::string burst;
      for (int k = 0; k < 100; ++k, ++i) {
        bool shock = i % 50 == 30 || i % 50 == 31;
        burst += testing::json_record("e", i, 1, shock ? 9 : 1, 1) + "\n";
      }
      if (!testing::send_all(fd, burst)) break;
      std::this_thread::sleep_for(5ms);
    }
  });
  // SIGHUP mid-stream reloads the model without interrupting the stream.
  std::this_thread::sleep_for(250ms);
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  std::this_thread::sleep_for(250ms);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  reaper.reaped = true;
  stop = true;
  client.join();
  ::close(fd);
  ASSERT_TRUE(WIFEXITED(status)) << slurp(err);
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(err);

  std::smatch m;
  std::string log = slurp(err);
  std::regex summary(
      "shutdown complete: ([0-9]+) samples processed, ([0-9]+) steps scored, ([0-9]+) alerts");
  ASSERT_TRUE(std::regex_search(log, m, summary)) << log;
  const long samples = std::stol(m[1]), steps = std::stol(m[2]), alerts = std::stol(m[3]);
  ASSERT_GT(samples, 1000);  // the stream was running when the signal came
  EXPECT_NE(log.find("model 'm' reloaded"), std::string::npos) << log;

  // From the samples it took, compute what must have come out (window 10, step 2).
  long expected_steps = samples < 10 ? 0 : (samples - 10) / 2 + 1;
  long expected_alerts = 0;
  for (long k = 0; 50 * k + 32 <= samples; ++k)
    ++expected_alerts;
  EXPECT_EQ(steps, expected_steps);
  EXPECT_EQ(alerts, expected_alerts);

  // Every alert is on stdout, one JSON line each.
  std::istringstream lines(slurp(out));
  std::string line;
  long alert_lines = 0;
  while (std::getline(lines, line))
    alert_lines += line.find("\"MscredAnomaly\"") != std::string::npos;
  EXPECT_EQ(alert_lines, expected_alerts);
}

}  // namespace
}  // namespace mscred::daemon
