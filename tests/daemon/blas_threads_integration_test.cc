// Thread pinning: mscredd and mscred replay give OpenBLAS worker.threads threads (read back
// from OpenBLAS itself, openblas_get_num_threads(), in the start-up log line), unless
// OPENBLAS_NUM_THREADS is set, which wins. OpenBLAS reads that variable before main(), so
// this runs the real binaries rather than calling the function in the test process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace mscred::daemon {
namespace {

struct ChildRun {
  int status = -1;
  std::string pinning_line;  // the log line with "OpenBLAS"
};

// Writes a config with worker.threads = `threads` and a 60-row CSV, runs `args_fmt`
// (a printf format of the command that takes the config and the CSV path) and collects
// its log.
ChildRun run_with_threads(const std::string& name, int threads, const std::string& env,
                          const std::string& args_fmt) {
  const std::string dir = ::testing::TempDir();
  const std::string config = dir + name + ".yaml";
  const std::string csv = dir + name + ".csv";
  {
    std::ofstream f(csv);
    for (int i = 0; i < 60; ++i)
      f << i << ",1,1,1\n";
  }
  std::ofstream(config) << "sources: [{type: file, path: " << csv << ", entity: e}]\n"
                        << "models: [{name: m, fake: {sensors: [a, b, c], level: 5}}]\n"
                        << "pipeline: {scales: [4, 8], step: 2, history: 2}\n"
                        << "worker: {threads: " << threads << "}\n"
                        << "metrics: {enabled: false}\nhealth: {enabled: false}\n"
                        << "sinks: {log: {enabled: false}}\nlogging: {level: info}\n";
  char cmd[2048];
  std::snprintf(cmd, sizeof cmd, args_fmt.c_str(), config.c_str(), csv.c_str());
  std::string full = "env -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS " + env + " " + cmd + " 2>&1";
  ChildRun r;
  std::FILE* out = popen(full.c_str(), "r");
  if (out == nullptr) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, out) != nullptr) {
    std::string line(buf);
    if (line.find("OpenBLAS") != std::string::npos) r.pinning_line = line;
  }
  r.status = pclose(out);
  return r;
}

std::string binary(const char* name) {
  return std::string(MSCRED_BINARY_DIR) + "/daemon/" + name;
}

TEST(BlasThreadsIntegrationTest, MscreddPinsOpenBlasToWorkerThreads) {
  if (access(binary("mscredd").c_str(), X_OK) != 0) GTEST_SKIP() << "mscredd not built";
  // 3 is neither OpenBLAS's default here (the core count) nor 1.
  ChildRun r = run_with_threads("pin_mscredd", 3, "", binary("mscredd") + " --config %s");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.pinning_line;
  if (r.pinning_line.find("not loaded") != std::string::npos) {
    GTEST_SKIP() << "built without LibTorch: no OpenBLAS in the process";
  }
  EXPECT_NE(r.pinning_line.find("LibTorch intra-op threads 3; OpenBLAS threads 3 (pinned"),
            std::string::npos)
      << r.pinning_line;
}

TEST(BlasThreadsIntegrationTest, ExplicitEnvironmentWinsAndIsLogged) {
  if (access(binary("mscred").c_str(), X_OK) != 0) GTEST_SKIP() << "mscred not built";
  ChildRun r = run_with_threads("pin_env", 1, "OPENBLAS_NUM_THREADS=2",
                                binary("mscred") + " replay -c %s -i %s --entity e");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.pinning_line;
  if (r.pinning_line.find("not loaded") != std::string::npos) GTEST_SKIP() << "no OpenBLAS";
  EXPECT_NE(r.pinning_line.find("OpenBLAS threads 2 (OPENBLAS_NUM_THREADS=2 from the environment"),
            std::string::npos)
      << r.pinning_line;
}

TEST(BlasThreadsIntegrationTest, ReplayPinsToo) {
  if (access(binary("mscred").c_str(), X_OK) != 0) GTEST_SKIP() << "mscred not built";
  ChildRun r =
      run_with_threads("pin_replay", 2, "", binary("mscred") + " replay -c %s -i %s --entity e");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.pinning_line;
  if (r.pinning_line.find("not loaded") != std::string::npos) GTEST_SKIP() << "no OpenBLAS";
  EXPECT_NE(r.pinning_line.find("OpenBLAS threads 2 (pinned"), std::string::npos) << r.pinning_line;
}

}  // namespace
}  // namespace mscred::daemon
