// A checkpoint that is truncated, corrupt or from another format version is refused with
// a CheckpointError naming the file and the problem, never a crash or a half-loaded model.
// Containers are built byte by byte from the layout in model/checkpoint.h (not with
// serialize_checkpoint), so the test also pins the documented layout.

#include <gtest/gtest.h>

#include <boost/crc.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "mscred/model/checkpoint.h"

namespace {

using mscred::model::CheckpointError;
using mscred::model::parse_checkpoint;

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void put_crc(std::string& out) {
  boost::crc_32_type crc;
  crc.process_bytes(out.data(), out.size());
  put<uint32_t>(out, crc.checksum());
}

// magic, version, metadata, one tensor "w" of shape [2] = {1.5, -2}, CRC.
std::string container(uint32_t version = 1) {
  std::string out = "MSCREDCK";
  put<uint32_t>(out, version);
  const std::string meta = R"({"sensors":["a","b"]})";
  put<uint64_t>(out, meta.size());
  out += meta;
  put<uint32_t>(out, 1);
  put<uint32_t>(out, 1);
  out += "w";
  put<uint32_t>(out, 1);
  put<int64_t>(out, 2);
  put<float>(out, 1.5f);
  put<float>(out, -2.0f);
  put_crc(out);
  return out;
}

std::string error_of(const std::string& bytes) {
  try {
    parse_checkpoint(bytes, "m.mscred");
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "parsed a bad checkpoint";
  return "";
}

TEST(CheckpointBadInputTest, HandBuiltContainerParses) {
  auto c = parse_checkpoint(container(), "m.mscred");
  EXPECT_EQ(c.metadata_json, R"({"sensors":["a","b"]})");
  ASSERT_EQ(c.tensors.size(), 1u);
  EXPECT_EQ(c.tensors[0].name, "w");
  EXPECT_EQ(c.tensors[0].data, (std::vector<float>{1.5f, -2.0f}));
}

TEST(CheckpointBadInputTest, EveryTruncationIsRefused) {
  const std::string good = container();
  for (size_t n = 0; n < good.size(); ++n) {
    std::string what = error_of(good.substr(0, n));
    EXPECT_NE(what.find("m.mscred"), std::string::npos) << n << ": " << what;
  }
}

TEST(CheckpointBadInputTest, CorruptByteIsAChecksumMismatch) {
  std::string bytes = container();
  bytes[30] ^= 0x20;
  EXPECT_NE(error_of(bytes).find("checksum"), std::string::npos);
}

TEST(CheckpointBadInputTest, OtherVersionNamesBothVersions) {
  std::string what = error_of(container(7));
  EXPECT_NE(what.find("version 7"), std::string::npos) << what;
  EXPECT_NE(what.find("version " + std::to_string(mscred::model::kCheckpointFormatVersion)),
            std::string::npos)
      << what;
}

TEST(CheckpointBadInputTest, LyingLengthsAreRefusedEvenWithAValidCrc) {
  // The CRC is right, but the metadata length points past the end.
  std::string bytes = container();
  bytes.resize(bytes.size() - 4);
  const uint64_t huge = 1ull << 40;
  std::memcpy(&bytes[12], &huge, 8);
  put_crc(bytes);
  EXPECT_NE(error_of(bytes).find("metadata"), std::string::npos);
}

TEST(CheckpointBadInputTest, NotACheckpointIsBadMagic) {
  EXPECT_NE(error_of("PK\x03\x04 this is a zip").find("bad magic"), std::string::npos);
}

TEST(CheckpointBadInputTest, MissingFileNamesThePath) {
  try {
    mscred::model::read_checkpoint("/nonexistent/m.mscred");
    FAIL();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/m.mscred"), std::string::npos);
  }
}

// TODO: "a checkpoint for another sensor set" is refused by model::Detector::load
// (expected_sensors), which is not in main yet (helper "model"); add the test here when
// detector.cc lands: load a tiny checkpoint with sensors [a,b] expecting [a,c].

}  // namespace
