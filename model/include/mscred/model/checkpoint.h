#pragma once
// The checkpoint container: one file with JSON metadata and named float32 tensors, closed by
// a CRC-32 over every byte before it. Deliberately not TorchScript or pickle: loading a
// model must never execute code from the file. Torch-free.
//
// Layout (all integers little-endian):
//   "MSCREDCK"                       8 bytes magic
//   u32 format version               kCheckpointFormatVersion
//   u64 metadata length, metadata    UTF-8 JSON (what the model needs besides weights)
//   u32 tensor count, then per tensor:
//     u32 name length, name, u32 rank, i64 dims[rank], float32 data[prod(dims)]
//   u32 CRC-32 (Boost.CRC, the zlib polynomial) over all preceding bytes

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mscred::model {

inline constexpr std::uint32_t kCheckpointFormatVersion = 1;

//! A named tensor in row-major order.
struct TensorBlob {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

//! The decoded container.
struct CheckpointContents {
  std::uint32_t format_version = kCheckpointFormatVersion;
  std::string metadata_json;
  std::vector<TensorBlob> tensors;
};

//! Every refusal to load (corrupt, truncated, other version, mismatched model) is one of
//! these; what() names the file and what is wrong.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

//! Writes `contents` to `path` through a temporary file and a rename, so a crash never
//! leaves a half-written checkpoint under the final name. Throws CheckpointError.
void write_checkpoint(const std::string& path, const CheckpointContents& contents);

//! Reads and verifies magic, version, checksum and structure. Throws CheckpointError.
CheckpointContents read_checkpoint(const std::string& path);

//! Same as above for bytes already in memory; `what` names the source in messages.
CheckpointContents parse_checkpoint(const std::string& bytes, const std::string& what);
std::string serialize_checkpoint(const CheckpointContents& contents);

}  // namespace mscred::model
