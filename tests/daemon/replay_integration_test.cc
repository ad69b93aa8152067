// `mscred replay`: a CSV file through the same pipeline and sinks as the daemon.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mscred::daemon {
namespace {

TEST(ReplayIntegrationTest, ReplaysFileAndWritesOneAlertPerShock) {
  const std::string binary = std::string(MSCRED_BINARY_DIR) + "/daemon/mscred";
  if (access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << "mscred not built";
  const std::string dir = ::testing::TempDir();
  const std::string config = dir + "replay_test.yaml";
  const std::string csv = dir + "replay_test.csv";
  std::ofstream(config) << R"(
sources: [{type: tcp, listen: "127.0.0.1:0"}]
models: [{name: m, fake: {sensors: [a, b, c], level: 5}}]
pipeline: {scales: [4, 8], step: 2, history: 2}
health: {enabled: false}
logging: {level: warn}
)";
  // Columns in another order than the model's; a shock on c at rows 50k+21 (the step
  // that ends at row 50k+21), 200 rows -> 4 shocks.
  {
    std::ofstream f(csv);
    f << "time,c,b,a\n";
    for (int i = 0; i < 200; ++i)
      f << i << "," << (i % 50 == 21 ? 7 : 1) << ",1,1\n";
  }
  std::string cmd = binary + " replay -c " + config + " -i " + csv + " --entity m1 2>/dev/null";
  std::FILE* out = popen(cmd.c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::vector<nlohmann::json> alerts;
  char buf[1 << 14];
  while (std::fgets(buf, sizeof buf, out) != nullptr)
    alerts.push_back(nlohmann::json::parse(buf));
  int status = pclose(out);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(alerts.size(), 4u);
  for (size_t k = 0; k < alerts.size(); ++k) {
    EXPECT_EQ(alerts[k]["labels"]["entity"], "m1");
    EXPECT_DOUBLE_EQ(alerts[k]["annotations"]["step_ts"].get<double>(), 50.0 * k + 21);
    EXPECT_EQ(alerts[k]["annotations"]["top_sensors"][0]["sensor"], "c");
  }
}

}  // namespace
}  // namespace mscred::daemon
