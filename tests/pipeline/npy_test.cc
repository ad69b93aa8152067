// .npy writer: header bytes checked by hand, data read back, and numpy when present.
#include "mscred/pipeline/npy.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace mscred::pipeline {
namespace {

namespace fs = std::filesystem;

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(Npy, HeaderBytesByHand) {
  const std::string h = npy_header("<f4", {3, 38, 38});
  ASSERT_EQ(h.size(), 128u);  // 10 + 59 dict bytes, padded to the next multiple of 64
  EXPECT_EQ(h.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(h[6], '\x01');  // version 1.0
  EXPECT_EQ(h[7], '\x00');
  const std::size_t len = static_cast<unsigned char>(h[8]) |
                          (static_cast<std::size_t>(static_cast<unsigned char>(h[9])) << 8);
  EXPECT_EQ(len, 118u);  // little-endian header length
  const std::string dict = h.substr(10);
  const std::string want = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 38, 38), }";
  EXPECT_EQ(dict.substr(0, want.size()), want);
  EXPECT_EQ(dict.back(), '\n');
  for (std::size_t k = want.size(); k + 1 < dict.size(); ++k)
    EXPECT_EQ(dict[k], ' ');

  EXPECT_NE(npy_header("<f8", {5}).find("'shape': (5,), }"), std::string::npos);
  EXPECT_NE(npy_header("<f8", {}).find("'shape': (), }"), std::string::npos);
  for (auto shape : {std::vector<std::size_t>{1}, {2, 3}, {123456, 7, 8, 9}}) {
    EXPECT_EQ(npy_header("<f4", shape).size() % 64, 0u);
  }
}

TEST(Npy, WriteThenReadBack) {
  const fs::path p = fs::path(testing::TempDir()) / "mscred_npy_test.npy";
  std::vector<float> f(3 * 4 * 4);
  for (std::size_t i = 0; i < f.size(); ++i)
    f[i] = 0.25f * static_cast<float>(i) - 3.0f;
  write_npy(p.string(), f.data(), {3, 4, 4});
  const std::string bytes = file_bytes(p);
  ASSERT_EQ(bytes.size(), 128u + f.size() * 4);  // header + raw little-endian floats
  float first;
  std::memcpy(&first, bytes.data() + 128, 4);
  EXPECT_EQ(first, -3.0f);
  const NpyArray a = read_npy(p.string());
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 4, 4}));
  ASSERT_EQ(a.values.size(), f.size());
  for (std::size_t i = 0; i < f.size(); ++i)
    EXPECT_EQ(a.values[i], f[i]);

  const std::vector<double> d = {1.0 / 3, -2e-300, 7};
  write_npy(p.string(), d.data(), {3});
  const NpyArray b = read_npy(p.string());
  EXPECT_EQ(b.descr, "<f8");
  EXPECT_EQ(b.shape, (std::vector<std::size_t>{3}));
  EXPECT_EQ(b.values, d);
  fs::remove(p);
}

// numpy itself, when python3 with numpy is installed (tools/install-deps.sh installs it).
TEST(Npy, NumpyLoadsIt) {
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(candidate) + " -c 'import numpy' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) GTEST_SKIP() << "python3 with numpy not available";
  const fs::path p = fs::path(testing::TempDir()) / "mscred_npy_numpy.npy";
  std::vector<float> f(2 * 3 * 3);
  for (std::size_t i = 0; i < f.size(); ++i)
    f[i] = static_cast<float>(i) * 0.5f;
  write_npy(p.string(), f.data(), {2, 3, 3});
  const std::string cmd =
      python +
      " -c \"import numpy as np, sys; a = np.load(sys.argv[1]); "
      "assert a.dtype == np.float32 and a.shape == (2, 3, 3), (a.dtype, a.shape); "
      "assert float(a[1, 2, 1]) == 8.0, a[1, 2, 1]; "
      "assert a.flags['C_CONTIGUOUS']\" " +
      p.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  fs::remove(p);
}

}  // namespace
}  // namespace mscred::pipeline
