#pragma once
// `mscred train` as a library call: fit the normaliser, build windows through the streaming
// path (pipeline::EntityState), train with Adam and early stopping, fit thresholds on the
// held-out tail and write one checkpoint. Torch-free header.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mscred/model/model_config.h"
#include "mscred/model/model_info.h"
#include "mscred/pipeline/scoring.h"
#include "mscred/pipeline/signature.h"

namespace mscred::model {

//! Progress of the training loop, reported every batch and at each epoch end.
struct FitProgress {
  int epoch = 0;  //!< 1-based
  int epochs = 0;
  std::size_t windows_done = 0;  //!< in this epoch
  std::size_t windows_total = 0;
  double train_loss = 0.0;  //!< running mean over this epoch
  double val_loss = -1.0;   //!< set at epoch end (-1 while running or without validation)
  double windows_per_s = 0.0;
  double seconds_left = 0.0;  //!< estimate for the remaining epochs at this pace
  bool epoch_end = false;
};

//! How windows are grouped into mini-batches. kShuffled: every epoch a random permutation of
//! all windows, cut into batches (the paper's and the baseline's order). kContiguous: batch k
//! holds windows kB .. kB+B-1 in series order and only the order of the batches is shuffled
//! each epoch; consecutive windows share h-1 steps, which are then encoded once per batch
//! (MscredNet::forward_steps), so an epoch costs less. The gradient is the same function of
//! the batch either way; what changes is which windows share a batch. kAuto (the default):
//! kContiguous for the forecast objective, kShuffled for reconstruct, from the session-4 A/B
//! (docs/model.md "Session 4: batch order"): with forecast, contiguous batches trained as well
//! per epoch, an epoch costing 0.7x at batch 8 and 0.5x at batch 32; with reconstruct, the
//! one session-3 run trained worse per epoch.
enum class BatchOrder { kShuffled, kContiguous, kAuto };
//! "shuffled" / "contiguous" / "auto"; throws std::invalid_argument naming the value otherwise.
BatchOrder parse_batch_order(const std::string& name);
const char* to_string(BatchOrder order);
//! kAuto resolved for `objective`; the other orders unchanged.
BatchOrder resolve_batch_order(BatchOrder order, Objective objective);

//! Which kernels run the convolutions on the CPU. kAuto: oneDNN for every convolution when
//! LibTorch has >= 2 intra-op threads (the resolved count: the cores when threads = 0),
//! ATen's own choice (im2col + the system BLAS for batch-1 convolutions, oneDNN for most
//! batched ones) at 1 thread. Measured with bench/model_perf, n = 30, kernel 3 (README
//! "Performance", session 4): at 2 threads ATen's batch-1 path waits on OpenBLAS's threads
//! and streaming batch 1 took 28.6-31.6 ms a call against 21.7-22.2 with oneDNN; training at
//! batch 1 160 against 226 ms (medians); at batch 32 the two were within this machine's
//! noise (training 1.57-1.82 s against 1.63-1.88 s). At 1 thread ATen's choice was faster
//! (streaming batch 1: 24-26 against 27-28 ms). kOn / kOff force one of them. Results agree
//! within float tolerance (tested).
enum class OneDnn { kAuto, kOn, kOff };
//! "auto" / "on" / "off"; throws std::invalid_argument naming the value otherwise.
OneDnn parse_onednn(const std::string& name);
const char* to_string(OneDnn mode);
//! Whether `mode` means oneDNN convolutions at `intra_op_threads` LibTorch threads.
bool onednn_in_effect(OneDnn mode, int intra_op_threads);

struct TrainOptions {
  std::string model_id = "mscred";
  std::string output_path;            //!< checkpoint to write
  std::string normaliser = "minmax";  //!< "minmax" or "zscore"
  pipeline::SignatureConfig signature;
  pipeline::ScoreConfig score;
  std::int64_t lstm_kernel = 3;
  double chi = 0.0;  //!< 0 = the steps the network reads (see input_steps)
  //! forecast (default: predict the newest step from the h - 1 before it, chosen on the
  //! session-3 A/B, docs/model.md "Objective") or reconstruct (the paper's form).
  Objective objective = Objective::kForecast;
  double validation_fraction = 0.2;  //!< last part of the series held out
  double learning_rate = 2e-4;
  std::size_t batch_size = 32;
  BatchOrder batch_order = BatchOrder::kAuto;
  int epochs = 20;
  int patience = 5;
  std::uint64_t seed = 0;
  int threads = 1;  //!< LibTorch intra-op threads
  OneDnn onednn = OneDnn::kAuto;
  double max_seconds = 0.0;  //!< training wall-clock budget (0 = none), see FitOptions
  std::function<void(const FitProgress&)> progress;
};

struct TrainReport {
  ModelInfo info;                                  //!< as written into the checkpoint
  BatchOrder batch_order = BatchOrder::kShuffled;  //!< the order used (kAuto resolved)
  std::size_t rows = 0;
  std::size_t train_windows = 0;
  std::size_t validation_windows = 0;
  std::vector<double> train_loss;  //!< per epoch
  std::vector<double> val_loss;    //!< per epoch
  int best_epoch = 0;
  bool stopped_early = false;
  bool stopped_by_time = false;
  double train_windows_per_s = 0.0;
  double seconds = 0.0;
  bool onednn = false;                //!< whether the convolutions ran through oneDNN
  double validation_max_score = 0.0;  //!< max total score over validation windows
};

//! Trains on `values` (row-major rows x sensors.size(), raw units, NaN = missing) and writes
//! options.output_path. Deterministic for a given seed and thread count. Blocks for the whole
//! run. Throws std::invalid_argument for unusable options or too little data (naming the
//! option), CheckpointError when the file cannot be written.
TrainReport train(const std::vector<std::string>& sensors, const std::vector<double>& values,
                  const TrainOptions& options);

//! FNV-1a 64 over sensor names and raw values (bit patterns), as 16 hex digits: identifies the
//! training data in the checkpoint.
std::string data_digest(const std::vector<std::string>& sensors, const std::vector<double>& values);

}  // namespace mscred::model
