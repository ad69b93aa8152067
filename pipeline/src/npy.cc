#include "mscred/pipeline/npy.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace mscred::pipeline {

namespace {

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float sizes");

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

template <typename T>
void write_impl(const std::string& path, const T* data, const std::vector<std::size_t>& shape,
                const char* descr) {
  if (!little_endian()) throw std::runtime_error("write_npy: big-endian host not supported");
  std::size_t count = 1;
  for (std::size_t d : shape)
    count *= d;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  const std::string header = npy_header(descr, shape);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(T)));
  out.close();
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace

std::string npy_header(const std::string& descr, const std::vector<std::size_t>& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    dict += std::to_string(shape[k]);
    if (shape.size() == 1 || k + 1 < shape.size()) dict += ",";
    if (k + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // 6 magic + 2 version + 2 length bytes, then dict, spaces, '\n'; total % 64 == 0.
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 65535) throw std::runtime_error("npy header too long");
  std::string header("\x93NUMPY\x01\x00", 8);
  header += static_cast<char>(dict.size() & 0xff);
  header += static_cast<char>((dict.size() >> 8) & 0xff);
  return header + dict;
}

void write_npy(const std::string& path, const float* data, const std::vector<std::size_t>& shape) {
  write_impl(path, data, shape, "<f4");
}

void write_npy(const std::string& path, const double* data, const std::vector<std::size_t>& shape) {
  write_impl(path, data, shape, "<f8");
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  char pre[10];
  in.read(pre, 10);
  if (!in || std::memcmp(pre, "\x93NUMPY", 6) != 0) {
    throw std::runtime_error(path + ": not a .npy file");
  }
  const auto major = static_cast<unsigned char>(pre[6]);
  std::size_t header_len = static_cast<unsigned char>(pre[8]) |
                           (static_cast<std::size_t>(static_cast<unsigned char>(pre[9])) << 8);
  if (major >= 2) {  // 4-byte length
    char more[2];
    in.read(more, 2);
    header_len |= (static_cast<std::size_t>(static_cast<unsigned char>(more[0])) << 16) |
                  (static_cast<std::size_t>(static_cast<unsigned char>(more[1])) << 24);
  }
  std::string dict(header_len, '\0');
  in.read(dict.data(), static_cast<std::streamsize>(header_len));
  if (!in) throw std::runtime_error(path + ": truncated header");

  auto value_of = [&](const std::string& key) {
    const std::size_t k = dict.find("'" + key + "'");
    if (k == std::string::npos) throw std::runtime_error(path + ": header lacks " + key);
    std::size_t p = dict.find(':', k) + 1;
    while (p < dict.size() && dict[p] == ' ')
      ++p;
    return p;
  };
  NpyArray a;
  {
    const std::size_t p = value_of("descr");
    const std::size_t q = dict.find('\'', p + 1);
    a.descr = dict.substr(p + 1, q - p - 1);
  }
  if (a.descr != "<f4" && a.descr != "<f8") {
    throw std::runtime_error(path + ": dtype " + a.descr + " not supported");
  }
  if (dict.compare(value_of("fortran_order"), 5, "False") != 0) {
    throw std::runtime_error(path + ": Fortran order not supported");
  }
  {
    std::size_t p = value_of("shape");
    const std::size_t q = dict.find(')', p);
    std::size_t v = 0;
    bool digits = false;
    for (++p; p < q; ++p) {
      if (dict[p] >= '0' && dict[p] <= '9') {
        v = v * 10 + static_cast<std::size_t>(dict[p] - '0');
        digits = true;
      } else if (digits) {
        a.shape.push_back(v);
        v = 0;
        digits = false;
      }
    }
    if (digits) a.shape.push_back(v);
  }
  std::size_t count = 1;
  for (std::size_t d : a.shape)
    count *= d;
  a.values.resize(count);
  if (a.descr == "<f4") {
    std::vector<float> f(count);
    in.read(reinterpret_cast<char*>(f.data()), static_cast<std::streamsize>(count * 4));
    for (std::size_t i = 0; i < count; ++i)
      a.values[i] = f[i];
  } else {
    in.read(reinterpret_cast<char*>(a.values.data()), static_cast<std::streamsize>(count * 8));
  }
  if (!in) throw std::runtime_error(path + ": truncated data");
  return a;
}

}  // namespace mscred::pipeline
