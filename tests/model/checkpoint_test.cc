// The checkpoint container: round trip and refusal of damaged files. Torch-free.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "mscred/model/checkpoint.h"

namespace mscred::model {
namespace {

CheckpointContents sample() {
  CheckpointContents c;
  c.metadata_json = R"({"sensors":["a","b"]})";
  c.tensors.push_back({"enc.0.weight", {2, 3}, {1, 2, 3, 4, 5, 6}});
  c.tensors.push_back({"enc.0.bias", {2}, {-1.5f, 0.25f}});
  return c;
}

std::string message_of(const std::string& bytes) {
  try {
    parse_checkpoint(bytes, "test.ckpt");
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointTest, RoundTripThroughAFile) {
  const std::string path = std::string(MSCRED_BINARY_DIR) + "/checkpoint_test.ckpt";
  write_checkpoint(path, sample());
  const auto back = read_checkpoint(path);
  EXPECT_EQ(back.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(back.metadata_json, sample().metadata_json);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].name, "enc.0.weight");
  EXPECT_EQ(back.tensors[0].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(back.tensors[0].data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(back.tensors[1].data, (std::vector<float>{-1.5f, 0.25f}));
  std::remove(path.c_str());
}

TEST(CheckpointTest, LayoutIsTheDocumentedOne) {
  // Hand-built expectation of the first bytes: magic, version 1, metadata length.
  const auto bytes = serialize_checkpoint(sample());
  EXPECT_EQ(bytes.substr(0, 8), "MSCREDCK");
  std::uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  EXPECT_EQ(version, 1u);
  std::uint64_t meta;
  std::memcpy(&meta, bytes.data() + 12, 8);
  EXPECT_EQ(meta, sample().metadata_json.size());
  // 8 + 4 + 8 + meta + 4 + (4+12+4+16+24) + (4+10+4+8+8) + 4
  EXPECT_EQ(bytes.size(), 8 + 4 + 8 + meta + 4 + 60 + 34 + 4);
}

TEST(CheckpointTest, RefusesAFlippedByte) {
  auto bytes = serialize_checkpoint(sample());
  bytes[bytes.size() / 2] ^= 0x10;
  const auto msg = message_of(bytes);
  EXPECT_NE(msg.find("test.ckpt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;
}

TEST(CheckpointTest, RefusesATruncatedFile) {
  const auto bytes = serialize_checkpoint(sample());
  for (std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{20}, bytes.size() - 1}) {
    const auto msg = message_of(bytes.substr(0, keep));
    EXPECT_FALSE(msg.empty()) << "kept " << keep;
    EXPECT_NE(msg.find("test.ckpt"), std::string::npos) << msg;
  }
}

TEST(CheckpointTest, RefusesAnotherFormatVersion) {
  auto c = sample();
  c.format_version = 2;
  const auto msg = message_of(serialize_checkpoint(c));
  EXPECT_NE(msg.find("format version 2, this build reads version 1"), std::string::npos) << msg;
}

TEST(CheckpointTest, RefusesBadMagic) {
  auto bytes = serialize_checkpoint(sample());
  bytes[0] = 'X';
  EXPECT_NE(message_of(bytes).find("bad magic"), std::string::npos);
}

TEST(CheckpointTest, RefusesAMissingFile) {
  try {
    read_checkpoint("/nonexistent/dir/x.ckpt");
    FAIL() << "no exception";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.ckpt: cannot open"),
              std::string::npos);
  }
}

TEST(CheckpointTest, RefusesATensorWhoseDataDoesNotMatchItsShape) {
  auto c = sample();
  c.tensors[0].data.pop_back();
  EXPECT_THROW(serialize_checkpoint(c), CheckpointError);
}

}  // namespace
}  // namespace mscred::model
