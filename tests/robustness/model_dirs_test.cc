// Model directory restriction (model_dirs): a checkpoint path outside the configured
// directories is refused at the config check with the key and line, whether it gets there
// directly, through `..`, through a symlink, or through a directory whose name merely
// starts with an allowed one; and again right before a (re)load, so a symlink swapped in
// after the check is caught. The expected outcomes are worked out from the file tree each
// test builds, not from the code.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mscred/daemon/config.h"
#include "mscred/daemon/fake_scorer.h"
#include "mscred/daemon/worker.h"

namespace {

namespace fs = std::filesystem;
using mscred::daemon::ConfigError;
using mscred::daemon::model_path_allowed;
using mscred::daemon::parse_config;

// <tmp>/models/good.mscred, <tmp>/models-old/old.mscred, <tmp>/other/bad.mscred,
// <tmp>/models/link.mscred -> <tmp>/other/bad.mscred, <tmp>/models/sub/ (a directory).
class ModelDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("mscred_model_dirs_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "models" / "sub");
    fs::create_directories(root_ / "models-old");
    fs::create_directories(root_ / "other");
    for (const char* f : {"models/good.mscred", "models-old/old.mscred", "other/bad.mscred"}) {
      std::ofstream(root_ / f) << "x";
    }
    fs::create_symlink(root_ / "other" / "bad.mscred", root_ / "models" / "link.mscred");
  }
  void TearDown() override { fs::remove_all(root_); }

  // Line 1 "sources:", 2 "- type: file", 3 "path", 4 "model_dirs: [...]", 5 "models:",
  // 6 "- name: m", 7 "path: <model>".
  std::string config(const std::string& dir, const std::string& model) const {
    return "sources:\n  - type: file\n    path: /data/m1.csv\nmodel_dirs: [" + dir +
           "]\nmodels:\n  - name: m\n    path: " + model + "\n";
  }
  std::string models() const { return (root_ / "models").string(); }

  void expect_refused(const std::string& model) {
    try {
      parse_config(config(models(), model), "t.yaml");
      ADD_FAILURE() << "accepted " << model;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.line(), 7) << e.what();
      EXPECT_EQ(e.key(), "models[0].path") << e.what();
      EXPECT_NE(std::string(e.what()).find("outside model_dirs"), std::string::npos) << e.what();
    }
  }

  fs::path root_;
};

TEST_F(ModelDirsTest, PathInsideAnAllowedDirectoryLoads) {
  auto c = parse_config(config(models(), (root_ / "models" / "good.mscred").string()), "t.yaml");
  ASSERT_EQ(c.model_dirs.size(), 1u);
  EXPECT_EQ(c.models[0].path, (root_ / "models" / "good.mscred").string());
  // A file that does not exist yet is judged by its (existing) directory.
  EXPECT_NO_THROW(parse_config(config(models(), (root_ / "models/sub/new.mscred").string()), "t"));
  // A trailing slash on the directory changes nothing.
  EXPECT_NO_THROW(
      parse_config(config(models() + "/", (root_ / "models/good.mscred").string()), "t"));
}

TEST_F(ModelDirsTest, PathOutsideIsRefusedWithKeyAndLine) {
  expect_refused((root_ / "other" / "bad.mscred").string());
}

TEST_F(ModelDirsTest, DotDotOutOfTheDirectoryIsRefused) {
  expect_refused((root_ / "models" / ".." / "other" / "bad.mscred").string());
  expect_refused((root_ / "models" / "sub" / ".." / ".." / "other" / "bad.mscred").string());
}

TEST_F(ModelDirsTest, SymlinkLeadingOutIsRefused) {
  expect_refused((root_ / "models" / "link.mscred").string());
}

TEST_F(ModelDirsTest, DirectoryNameThatOnlyStartsTheSameIsRefused) {
  expect_refused((root_ / "models-old" / "old.mscred").string());
}

TEST_F(ModelDirsTest, RelativeModelDirIsRefused) {
  try {
    parse_config(config("models", (root_ / "models/good.mscred").string()), "t.yaml");
    ADD_FAILURE() << "relative model_dirs accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 4) << e.what();
    EXPECT_EQ(e.key(), "model_dirs[0]") << e.what();
  }
}

TEST_F(ModelDirsTest, NoModelDirsMeansAnyPath) {
  std::string resolved;
  EXPECT_TRUE(model_path_allowed({}, (root_ / "other/bad.mscred").string(), resolved));
  EXPECT_EQ(resolved, (root_ / "other/bad.mscred").string());
  auto c = parse_config(
      "sources: [{type: file, path: /d.csv}]\nmodels: [{name: m, path: /anywhere/m.mscred}]\n",
      "t.yaml");
  EXPECT_TRUE(c.model_dirs.empty());
}

TEST_F(ModelDirsTest, SymlinkSwappedInAfterTheCheckIsRefusedAtReload) {
  // The config check passes (a real file inside models/); then the file is replaced by a
  // symlink to other/. The reload (SIGHUP) must not call the loader for it.
  const fs::path model = root_ / "models" / "swap.mscred";
  std::ofstream(model) << "x";
  auto c = parse_config(config(models(), model.string()), "t.yaml");
  std::atomic<int> loads{0};
  mscred::daemon::ScorerLoader loader = [&loads](const mscred::daemon::ModelConfig&,
                                                 const mscred::daemon::Config&) {
    ++loads;
    return std::unique_ptr<mscred::daemon::StepScorer>(std::make_unique<mscred::daemon::FakeScorer>(
        "m", std::vector<std::string>{"a", "b"}, std::vector<int>{10, 30, 60}, 10, 5, 3.0, 3));
  };
  mscred::daemon::RecordQueue queue(8);
  mscred::daemon::Worker worker(c, queue, {}, nullptr, loader);
  EXPECT_EQ(loads.load(), 1);
  worker.start();
  fs::remove(model);
  fs::create_symlink(root_ / "other" / "bad.mscred", model);
  worker.request_reload();
  // The reload happens at the worker's next loop turn (at most ~100 ms while idle).
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_TRUE(worker.drain(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_EQ(loads.load(), 1);
}

}  // namespace
