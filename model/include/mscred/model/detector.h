#pragma once
// Inference on a trained MSCRED checkpoint. Torch-free public header (pimpl): the daemon and
// `mscred eval` use it without seeing LibTorch.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mscred/model/model_info.h"
#include "mscred/model/train.h"
#include "mscred/pipeline/scoring.h"

namespace mscred::model {

//! Where the network runs: "cpu", "cuda:N" or "auto" (CUDA device 0 when available, else
//! cpu). `threads` sets LibTorch's intra-op threads for this process (0 leaves the default).
struct DeviceOptions {
  std::string device = "auto";
  int threads = 0;
  OneDnn onednn = OneDnn::kAuto;  //!< CPU convolution kernels (see OneDnn); CUDA ignores it
};

//! A loaded model. Owns the network, its device placement and the metadata from the
//! checkpoint. Not thread-safe: the daemon calls it from its one worker thread (which owns
//! it and LibTorch's intra-op threads); `mscred eval` from its main thread. Every call
//! blocks for the duration of one forward pass.
class Detector {
 public:
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  //! Loads and verifies a checkpoint (see checkpoint.h): format, checksum, metadata, every
  //! tensor's name and shape against a freshly built network. When `expected_sensors` is not
  //! empty the model's sensor names and order must equal it. Throws CheckpointError (bad
  //! file / mismatch) or std::runtime_error (device not available), naming the file.
  static std::unique_ptr<Detector> load(const std::string& path, const DeviceOptions& device,
                                        const std::vector<std::string>& expected_sensors = {});

  const ModelInfo& info() const;
  //! Device actually used, e.g. "cpu" or "cuda:0".
  std::string device() const;
  //! Whether the CPU convolutions run through oneDNN (DeviceOptions::onednn).
  bool onednn() const;
  //! Floats in one window [h, scales, n, n] and in one reconstruction [scales, n, n].
  std::size_t window_size() const;
  std::size_t matrix_size() const;

  //! windows [batch, h, scales, n, n] (oldest step first) -> out [batch, scales, n, n], the
  //! network's output for each window's newest step: its reconstruction from all h steps,
  //! or, for a model trained with objective forecast (info().net.objective), its prediction
  //! from steps 0..h-2 (the newest step is then not read). Windows are h steps either way.
  void reconstruct(const float* windows, std::size_t batch, float* out);
  //! Same shapes; out = (X_newest - Xhat)^2 elementwise.
  void residuals(const float* windows, std::size_t batch, float* out);
  //! Residuals scored with the checkpoint's ScoreConfig and Thresholds (pipeline::detect).
  //! When `residuals_out` is not null it receives the residuals [batch, scales, n, n] too
  //! (eval ranks every step's sensors from them, without a second forward pass).
  std::vector<pipeline::Detection> score(const float* windows, std::size_t batch,
                                         std::vector<float>* residuals_out = nullptr);

  // ---- Streaming inference (per-stream cache, see docs/model.md "Streaming cache") ----
  //! Counters of the stream cache since load.
  struct StreamStats {
    std::uint64_t hits = 0;       //!< windows that reused their stream's last h-1 steps
    std::uint64_t misses = 0;     //!< windows computed in full
    std::uint64_t evictions = 0;  //!< streams dropped (least recently used) to stay in bound
    std::size_t streams = 0;      //!< streams cached now
    std::size_t max_streams = 0;  //!< the bound (0 = cache off)
    std::size_t bytes_per_stream = 0;
  };

  //! Like reconstruct(), for windows of streams (entities): `stream_ids[b]` names window
  //! b's stream. Equal to reconstruct() within float tolerance; faster when a stream's
  //! window follows the previous one (its first h-1 steps are bit-identical to the cached
  //! last h-1), because those steps' encoder and input-to-state gates are reused.
  void reconstruct_stream(const float* windows, std::size_t batch, const std::uint64_t* stream_ids,
                          float* out);
  //! Streaming counterpart of residuals().
  void residuals_stream(const float* windows, std::size_t batch, const std::uint64_t* stream_ids,
                        float* out);
  //! Streaming counterpart of score().
  std::vector<pipeline::Detection> score_stream(const float* windows, std::size_t batch,
                                                const std::uint64_t* stream_ids,
                                                std::vector<float>* residuals_out = nullptr);
  //! Drops a stream's cache (entity reset or removed). Unknown ids are ignored.
  void forget_stream(std::uint64_t stream_id);
  //! Bounds the cache to `max_streams` streams (default: 256 or 1 GiB of cache, whichever
  //! is fewer streams); 0 turns it off (the stream calls then compute every window in full).
  void set_stream_cache_limit(std::size_t max_streams);
  StreamStats stream_stats() const;

  struct Impl;  //!< opaque; defined in detector.cc

 private:
  explicit Detector(std::unique_ptr<Impl> impl);
  std::vector<pipeline::Detection> detect_all(const std::vector<float>& residuals,
                                              std::size_t batch) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mscred::model
