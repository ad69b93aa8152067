// Fuzzes the checkpoint container parser (model::parse_checkpoint, behind read_checkpoint
// and Detector::load). The container ends in a CRC-32, which random bytes almost never
// match, so when the first byte is odd the harness appends the right CRC to the rest: that
// input reaches the structure parser (lengths, ranks, shapes) instead of stopping at the
// checksum. A container that parses must serialise back to exactly the same bytes.

#include <boost/crc.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "mscred/model/checkpoint.h"

int mscred_fuzz_checkpoint(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    boost::crc_32_type crc;
    crc.process_bytes(bytes.data(), bytes.size());
    const uint32_t sum = crc.checksum();
    char tail[4];
    std::memcpy(tail, &sum, 4);
    bytes.append(tail, 4);
  }
  try {
    mscred::model::CheckpointContents c = mscred::model::parse_checkpoint(bytes, "fuzz.ckpt");
    MSCRED_FUZZ_CHECK(c.format_version == mscred::model::kCheckpointFormatVersion);
    for (const auto& t : c.tensors) {
      size_t count = 1;
      for (auto d : t.shape) {
        MSCRED_FUZZ_CHECK(d >= 0);
        count *= static_cast<size_t>(d);
      }
      MSCRED_FUZZ_CHECK(count == t.data.size());
    }
    MSCRED_FUZZ_CHECK(mscred::model::serialize_checkpoint(c) == bytes);
  } catch (const mscred::model::CheckpointError& e) {
    MSCRED_FUZZ_CHECK(std::string(e.what()).find("fuzz.ckpt") != std::string::npos);
  }
  return 0;
}

MSCRED_FUZZ_ENTRY(mscred_fuzz_checkpoint)
