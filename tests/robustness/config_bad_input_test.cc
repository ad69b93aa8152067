// Every kind of configuration mistake through the real loader (daemon::load_config on a
// file on disk): each is a ConfigError naming the file, the 1-based line and the dotted
// key, which is what mscredd prints before it refuses to start. Line numbers below are
// counted by hand in the texts.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "mscred/daemon/config.h"

namespace {

using mscred::daemon::ConfigError;
using mscred::daemon::load_config;

// A valid base: line 1 "sources:", line 2 "- type: file", line 3 "path: ...", line 4
// "models:", line 5 "- name: m", line 6 "fake:", line 7 "sensors: [a, b]". (A file source:
// its keys are the same on every branch, unlike the TCP source's bind/port -> listen.)
const char* const kBase =
    "sources:\n"
    "  - type: file\n"
    "    path: /data/m1.csv\n"
    "models:\n"
    "  - name: m\n"
    "    fake:\n"
    "      sensors: [a, b]\n";

class ConfigBadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "mscred_cfg_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // Writes `text` and loads it; returns the error (fails the test if it loads).
  ConfigError load_error(const std::string& text) {
    {
      std::ofstream out(path_);
      out << text;
    }
    try {
      load_config(path_);
    } catch (const ConfigError& e) {
      return e;
    }
    ADD_FAILURE() << "loaded without error:\n" << text;
    return ConfigError(path_, -1, -1, "", "none");
  }

  void expect_error(const std::string& text, int line, const std::string& key,
                    const std::string& words) {
    ConfigError e = load_error(text);
    EXPECT_EQ(e.file(), path_);
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.key(), key) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    // what() starts with file:line: so editors and log readers can jump to it.
    EXPECT_EQ(std::string(e.what()).rfind(path_ + ":" + std::to_string(line) + ":", 0), 0u)
        << e.what();
  }

  std::string path_;
};

TEST_F(ConfigBadInputTest, BaseConfigLoads) {
  {
    std::ofstream out(path_);
    out << kBase;
  }
  auto c = load_config(path_);
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].path, "/data/m1.csv");
  EXPECT_EQ(c.models[0].fake_sensors.size(), 2u);
}

TEST_F(ConfigBadInputTest, UnknownKeyNamesKeyAndLine) {
  expect_error(std::string(kBase) + "worker:\n  max_bach: 8\n", 9, "worker.max_bach",
               "unknown key");
  expect_error(
      "sources:\n  - type: file\n    pth: /d.csv\nmodels:\n  - name: m\n    fake: "
      "{sensors: [a]}\n",
      3, "sources[0].pth", "unknown key");
  expect_error(std::string(kBase) + "sink:\n  log: {}\n", 8, "sink", "unknown key");
}

TEST_F(ConfigBadInputTest, WrongTypeNamesKeyAndLine) {
  expect_error(std::string(kBase) + "worker:\n  max_batch: lots\n", 9, "worker.max_batch",
               "must be a non-negative integer");
  expect_error(std::string(kBase) + "pipeline:\n  scales: 10\n", 9, "pipeline.scales",
               "non-empty list");
  expect_error(std::string(kBase) + "metrics:\n  enabled: maybe\n", 9, "metrics.enabled",
               "true or false");
  expect_error(
      "sources:\n  - type: file\n    path: /d.csv\n    speed: [1]\nmodels:\n  - name: m\n"
      "    fake: {sensors: [a]}\n",
      4, "sources[0].speed", "a number");
}

TEST_F(ConfigBadInputTest, ImpossibleValueNamesKeyAndLine) {
  expect_error(
      "sources:\n  - type: file\n    path: /d.csv\n    speed: -2\nmodels:\n  - name: m\n"
      "    fake: {sensors: [a]}\n",
      4, "sources[0].speed", ">= 0");
  expect_error(
      "sources:\n  - type: tcp\n    max_line_bytes: 10\nmodels:\n  - name: m\n"
      "    fake: {sensors: [a]}\n",
      3, "sources[0].max_line_bytes", ">= 64");
  expect_error(std::string(kBase) + "pipeline:\n  scales: [30, 10]\n", 9, "pipeline.scales[1]",
               "increasing");
  expect_error(std::string(kBase) + "worker:\n  max_batch: -3\n", 9, "worker.max_batch",
               "non-negative");
  expect_error(std::string(kBase) + "worker:\n  device: gpu0\n", 9, "worker.device", "cuda:N");
  expect_error(std::string(kBase) + "shutdown:\n  drain_deadline_s: 0\n", 9,
               "shutdown.drain_deadline_s", "> 0");
  expect_error(std::string(kBase) + "scoring:\n  detect_scale: 3\n", 9, "scoring.detect_scale",
               "must index pipeline.scales");
  expect_error(std::string(kBase) + "pipeline:\n  step: 1\n  max_ts_jump_s: -1\n", 10,
               "pipeline.max_ts_jump_s", ">= 0");
  expect_error(std::string(kBase) + "pipeline:\n  future_ts_confirm: -2\n", 9,
               "pipeline.future_ts_confirm", ">= 0");
  expect_error(std::string(kBase) + "pipeline:\n  max_ts_ahead_s: soon\n", 9,
               "pipeline.max_ts_ahead_s", "a number");
}

TEST_F(ConfigBadInputTest, TcpSecurityMistakesNameKeyAndLine) {
  const std::string tcp = "sources:\n  - type: tcp\n";  // lines 1-2; the key is on line 3
  const std::string model = "models:\n  - name: m\n    fake: {sensors: [a]}\n";
  // A token must not sit in the YAML (configs end up in repositories and ConfigMaps).
  expect_error(tcp + "    auth: {token: hunter2}\n" + model, 3, "sources[0].auth.token",
               "token_file or token_env");
  expect_error(tcp + "    auth: {token_file: /a, token_env: B}\n" + model, 3, "sources[0].auth",
               "exactly one");
  expect_error(tcp + "    auth: {}\n" + model, 3, "sources[0].auth", "exactly one");
  expect_error(tcp + "    tls: {key: /k.pem}\n" + model, 3, "sources[0].tls.cert", "required");
  expect_error(tcp + "    tls: {cert: /c.pem, key: /k.pem, verify_client: true}\n" + model, 3,
               "sources[0].tls.verify_client", "tls.ca");
  expect_error(tcp + "    idle_timeout_s: -1\n" + model, 3, "sources[0].idle_timeout_s", ">= 0");
  expect_error(tcp + "    line_timeout_s: x\n" + model, 3, "sources[0].line_timeout_s", "a number");
}

TEST_F(ConfigBadInputTest, DanglingReferenceNamesKeyAndLine) {
  expect_error(std::string(kBase) + "entities:\n  models:\n    pump: nosuch\n", 10,
               "entities.models.pump", "no model named 'nosuch'");
  expect_error(std::string(kBase) + "entities:\n  unknown: default\n  default_model: x\n", 10,
               "entities.default_model", "no model named 'x'");
}

TEST_F(ConfigBadInputTest, MissingRequiredSectionIsNamed) {
  ConfigError e = load_error("models:\n  - name: m\n    fake: {sensors: [a]}\n");
  EXPECT_EQ(e.key(), "sources");
  EXPECT_NE(std::string(e.what()).find("source is required"), std::string::npos) << e.what();
}

TEST_F(ConfigBadInputTest, DuplicateNamesAreRejected) {
  expect_error(std::string(kBase) + "  - name: m\n    fake: {sensors: [c]}\n", 8, "models[1].name",
               "duplicate model name");
}

TEST_F(ConfigBadInputTest, YamlSyntaxErrorNamesLine) {
  // Line 3 opens a flow sequence that never closes.
  ConfigError e = load_error("sources:\n  - type: file\n    path: [0\nmodels: []\n");
  EXPECT_GE(e.line(), 3) << e.what();
  EXPECT_NE(std::string(e.what()).find("YAML syntax"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).rfind(path_ + ":", 0), 0u) << e.what();
  // A tab used for indentation.
  ConfigError tab = load_error("sources:\n\t- type: file\n");
  EXPECT_EQ(tab.line(), 2) << tab.what();
}

TEST_F(ConfigBadInputTest, MissingFileIsAConfigErrorNamingThePath) {
  const std::string missing = path_ + ".does-not-exist";
  try {
    load_config(missing);
    FAIL() << "loaded a missing file";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), missing);
    EXPECT_EQ(e.line(), 0);
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigBadInputTest, DeeplyNestedYamlIsAnErrorNotAStackOverflow) {
  // yaml-cpp recurses per nesting level; a hostile or broken file must not crash mscredd.
  const int depth = 20000;
  ConfigError e =
      load_error("sources: " + std::string(depth, '[') + std::string(depth, ']') + "\n");
  EXPECT_EQ(e.file(), path_);
  EXPECT_GE(e.line(), 1) << e.what();
}

TEST_F(ConfigBadInputTest, AliasBombIsRejectedQuickly) {
  // Nine levels of ten aliases each would be 10^9 nodes if expanded. yaml-cpp shares
  // aliased nodes instead of copying them, so the load is quick, and the loader then stops
  // at the first unknown top-level key.
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k)
      text += (k ? ", *l" : "*l") + std::to_string(i - 1);
    text += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  ConfigError e = load_error(text);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(e.line(), 1) << e.what();
  EXPECT_EQ(e.key(), "l0") << e.what();
}

TEST_F(ConfigBadInputTest, NotAMappingAtTopLevel) {
  expect_error("- just\n- a list\n", 1, "", "must be a mapping");
}

}  // namespace
