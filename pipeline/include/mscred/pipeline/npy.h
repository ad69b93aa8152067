#pragma once
// NumPy .npy files (format version 1.0, little-endian, C order) for float32 and float64,
// so that tensors written here load with numpy.load().

#include <cstddef>
#include <string>
#include <vector>

namespace mscred::pipeline {

//! The header bytes of a version 1.0 .npy file for `descr` ("<f4" or "<f8") and `shape`:
//! magic, version, little-endian header length, then the dict padded with spaces and a
//! final newline so that the data starts at a multiple of 64 bytes.
std::string npy_header(const std::string& descr, const std::vector<std::size_t>& shape);

//! Writes data (prod(shape) values). Throws std::runtime_error on I/O errors.
void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape);
void write_npy(const std::string& path, const double* data, const std::vector<std::size_t>& shape);

struct NpyArray {
  std::string descr;  //!< "<f4" or "<f8"
  std::vector<std::size_t> shape;
  std::vector<double> values;  //!< converted to double, C order
};

//! Reads a .npy file of little-endian float32 or float64 in C order (what write_npy
//! writes); other dtypes or Fortran order throw std::runtime_error.
NpyArray read_npy(const std::string& path);

}  // namespace mscred::pipeline
