#include "mscred/model/checkpoint.h"

#include <boost/crc.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace mscred::model {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "checkpoint I/O copies integers and floats as little-endian bytes");

constexpr char kMagic[8] = {'M', 'S', 'C', 'R', 'E', 'D', 'C', 'K'};
// Bounds that keep a corrupt header from asking for absurd allocations before the
// checksum is known to be right.
constexpr std::uint32_t kMaxRank = 8;
constexpr std::uint32_t kMaxNameLength = 1024;

std::uint32_t crc32_of(const char* data, std::size_t size) {
  boost::crc_32_type crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

// Sequential reader over the verified payload; every read names the field on failure.
class Reader {
 public:
  Reader(const std::string& bytes, std::size_t end, const std::string& what)
      : bytes_(bytes), end_(end), what_(what) {}

  template <typename T>
  T get(const char* field) {
    need(sizeof(T), field);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string get_bytes(std::size_t size, const char* field) {
    need(size, field);
    std::string s = bytes_.substr(pos_, size);
    pos_ += size;
    return s;
  }

  void get_floats(float* out, std::size_t count, const char* field) {
    if (count > (end_ - pos_) / sizeof(float)) fail(field);
    if (count == 0) return;  // out may be null for an empty tensor; memcpy(null, ., 0) is UB
    std::memcpy(out, bytes_.data() + pos_, count * sizeof(float));
    pos_ += count * sizeof(float);
  }

  std::size_t pos() const { return pos_; }

 private:
  void need(std::size_t size, const char* field) {
    if (size > end_ - pos_) fail(field);
  }
  [[noreturn]] void fail(const char* field) {
    throw CheckpointError("checkpoint " + what_ + ": truncated in " + field + " at byte " +
                          std::to_string(pos_));
  }

  const std::string& bytes_;
  std::size_t end_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string serialize_checkpoint(const CheckpointContents& contents) {
  std::string out(kMagic, sizeof(kMagic));
  put<std::uint32_t>(out, contents.format_version);
  put<std::uint64_t>(out, contents.metadata_json.size());
  out += contents.metadata_json;
  put<std::uint32_t>(out, static_cast<std::uint32_t>(contents.tensors.size()));
  for (const auto& t : contents.tensors) {
    std::size_t count = 1;
    for (auto d : t.shape)
      count *= static_cast<std::size_t>(d);
    if (count != t.data.size()) {
      throw CheckpointError("checkpoint: tensor " + t.name + " has " +
                            std::to_string(t.data.size()) + " values, shape says " +
                            std::to_string(count));
    }
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.name.size()));
    out += t.name;
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.shape.size()));
    for (auto d : t.shape)
      put<std::int64_t>(out, d);
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  }
  put<std::uint32_t>(out, crc32_of(out.data(), out.size()));
  return out;
}

CheckpointContents parse_checkpoint(const std::string& bytes, const std::string& what) {
  const std::string where = "checkpoint " + what;
  if (bytes.size() < sizeof(kMagic) + 4 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    throw CheckpointError(where + ": not an mscred checkpoint (bad magic)");
  }
  std::uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version != kCheckpointFormatVersion) {
    throw CheckpointError(where + ": format version " + std::to_string(version) +
                          ", this build reads version " + std::to_string(kCheckpointFormatVersion));
  }
  if (bytes.size() < 8 + 4 + 8 + 4 + 4) throw CheckpointError(where + ": truncated header");
  const std::size_t body = bytes.size() - 4;
  std::uint32_t stored;
  std::memcpy(&stored, bytes.data() + body, 4);
  if (crc32_of(bytes.data(), body) != stored) {
    throw CheckpointError(where + ": checksum mismatch (file corrupt or truncated)");
  }

  Reader r(bytes, body, what);
  r.get_bytes(8, "magic");
  CheckpointContents c;
  c.format_version = r.get<std::uint32_t>("format version");
  const auto meta_size = r.get<std::uint64_t>("metadata length");
  if (meta_size > body) throw CheckpointError(where + ": metadata length beyond end of file");
  c.metadata_json = r.get_bytes(static_cast<std::size_t>(meta_size), "metadata");
  const auto count = r.get<std::uint32_t>("tensor count");
  for (std::uint32_t i = 0; i < count; ++i) {
    TensorBlob t;
    const auto name_size = r.get<std::uint32_t>("tensor name length");
    if (name_size > kMaxNameLength) throw CheckpointError(where + ": tensor name too long");
    t.name = r.get_bytes(name_size, "tensor name");
    const auto rank = r.get<std::uint32_t>("tensor rank");
    if (rank > kMaxRank) throw CheckpointError(where + ": tensor " + t.name + " rank too big");
    std::size_t values = 1;
    for (std::uint32_t d = 0; d < rank; ++d) {
      const auto dim = r.get<std::int64_t>("tensor shape");
      if (dim < 0 || (dim > 0 && values > body / static_cast<std::size_t>(dim))) {
        throw CheckpointError(where + ": tensor " + t.name + " has an impossible shape");
      }
      t.shape.push_back(dim);
      values *= static_cast<std::size_t>(dim);
    }
    t.data.resize(values);
    r.get_floats(t.data.data(), values, "tensor data");
    c.tensors.push_back(std::move(t));
  }
  if (r.pos() != body) {
    throw CheckpointError(where + ": " + std::to_string(body - r.pos()) +
                          " unexpected bytes after the last tensor");
  }
  return c;
}

void write_checkpoint(const std::string& path, const CheckpointContents& contents) {
  const std::string bytes = serialize_checkpoint(contents);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw CheckpointError("checkpoint " + path + ": cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw CheckpointError("checkpoint " + path + ": cannot rename " + tmp + " into place");
  }
}

CheckpointContents read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError("checkpoint " + path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_checkpoint(bytes, path);
}

}  // namespace mscred::model
