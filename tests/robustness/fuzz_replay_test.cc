// Runs every seed (fuzz/corpus/<target>/) and every saved finding
// (tests/robustness/regressions/<target>/) through the same harness code the libFuzzer
// targets use, in the ordinary build. A harness aborts on a broken invariant, and the
// sanitizer builds (tools/sanitize.sh) catch memory errors and UB, so each saved crash
// input stays a regression test after its fix.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int mscred_fuzz_record(const uint8_t* data, size_t size);
int mscred_fuzz_csv_reader(const uint8_t* data, size_t size);
int mscred_fuzz_config(const uint8_t* data, size_t size);
int mscred_fuzz_checkpoint(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const uint8_t*, size_t);

// Feeds each file of both folders to `harness`; returns how many were run.
size_t replay(const std::string& target, Harness harness) {
  size_t n = 0;
  for (const std::string& root :
       {std::string(MSCRED_SOURCE_DIR) + "/fuzz/corpus/",
        std::string(MSCRED_SOURCE_DIR) + "/tests/robustness/regressions/"}) {
    const fs::path dir = root + target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // Printed first: if the harness aborts, this line names the input.
      std::fprintf(stderr, "replay %s\n", entry.path().c_str());
      harness(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  return n;
}

TEST(FuzzReplayTest, RecordInputs) {
  EXPECT_GT(replay("record", mscred_fuzz_record), 0u);
}
TEST(FuzzReplayTest, CsvReaderInputs) {
  EXPECT_GT(replay("csv_reader", mscred_fuzz_csv_reader), 0u);
}
TEST(FuzzReplayTest, ConfigInputs) {
  EXPECT_GT(replay("config", mscred_fuzz_config), 0u);
}
TEST(FuzzReplayTest, CheckpointInputs) {
  EXPECT_GT(replay("checkpoint", mscred_fuzz_checkpoint), 0u);
}

}  // namespace
