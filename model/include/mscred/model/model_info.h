#pragma once
// Everything besides the weights that a checkpoint carries, so that the daemon uses a model
// exactly as it was trained. Torch-free.

#include <cstdint>
#include <string>
#include <vector>

#include "mscred/model/model_config.h"
#include "mscred/pipeline/normaliser.h"
#include "mscred/pipeline/scoring.h"
#include "mscred/pipeline/signature.h"

namespace mscred::model {

//! Metadata of one trained model (checkpoint JSON).
struct ModelInfo {
  std::string model_id;              //!< name + short digest, e.g. "machine-1-1-3fa2c1d0"
  std::uint32_t format_version = 0;  //!< checkpoint container version it was read from
  std::vector<std::string> sensors;  //!< names in model order (n = sensors.size())
  pipeline::Normaliser normaliser;   //!< fitted on the training rows
  pipeline::SignatureConfig signature;
  pipeline::ScoreConfig score;
  pipeline::Thresholds thresholds;
  ModelConfig net;                    //!< n, scales, history, ConvLSTM kernel, chi, objective
  std::string data_digest;            //!< FNV-1a 64 of the training values, hex
  std::string created_utc;            //!< ISO 8601
  std::string training_summary_json;  //!< epochs, losses, seed (free-form, informative)
};

//! JSON text of `info` (the checkpoint's metadata block).
std::string model_info_to_json(const ModelInfo& info);

//! Parses and checks metadata: every key present and typed, sizes consistent (n sensors,
//! scales matching the signature config, thresholds per scale). Throws CheckpointError
//! naming `what` (the file) and the key.
ModelInfo model_info_from_json(const std::string& json, const std::string& what);

}  // namespace mscred::model
