#pragma once
// Mini-batch training of an MscredNet on windows already in memory. Private to model/.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mscred/model/checkpoint.h"
#include "mscred/model/train.h"
#include "mscred_net.h"

namespace mscred::model {

//! Row-major windows [count, h, scales, n, n] in one buffer.
struct WindowSet {
  std::vector<float> data;
  std::size_t count = 0;
  std::size_t window_size = 0;  //!< h * scales * n * n
};

struct FitOptions {
  double learning_rate = 2e-4;
  std::size_t batch_size = 32;
  //! kContiguous: batches of consecutive windows (order of batches shuffled per epoch), run
  //! through forward_steps; validation loss likewise (see BatchOrder).
  BatchOrder batch_order = BatchOrder::kShuffled;
  int epochs = 20;
  int patience = 5;  //!< epochs without a better validation loss before stopping
  std::uint64_t seed = 0;
  //! Wall-clock budget: no new epoch starts when the previous epoch's duration would take the
  //! run past it (0 = no limit). For full-size runs on a shared CPU.
  double max_seconds = 0.0;
  //! Called every few batches and at each epoch end; `line_end` marks the epoch end.
  std::function<void(const FitProgress&)> progress;
};

struct FitResult {
  std::vector<double> train_loss;  //!< per epoch
  std::vector<double> val_loss;    //!< per epoch (empty without validation windows)
  int best_epoch = 0;              //!< 1-based; its weights are the ones left in the net
  bool stopped_early = false;
  bool stopped_by_time = false;
  double train_windows_per_s = 0.0;
  double seconds = 0.0;
};

//! Trains `net` with Adam on `train`, early-stopping on the loss over `validation` and
//! restoring the best epoch's weights. Deterministic for a given seed and thread count.
//! Blocks the calling thread for the whole run.
FitResult fit(MscredNet& net, const WindowSet& train, const WindowSet& validation,
              const FitOptions& options);

//! Mean reconstruction loss over a window set (no gradient), in batches of consecutive
//! windows; `shared` runs each batch through share_consecutive_steps + forward_steps.
double evaluate_loss(MscredNet& net, const WindowSet& windows, std::size_t batch_size,
                     bool shared = false);

//! The network's output for a batch x [B, h, scales, n, n] (host, contiguous): forward(x),
//! or with `shared` the shared-step forward of x's distinct steps (same values within float
//! tolerance, gradients included).
torch::Tensor forward_batch(MscredNet& net, const torch::Tensor& x, bool shared);

//! The network's parameters as named blobs (checkpoint order = named_parameters order).
std::vector<TensorBlob> export_parameters(MscredNet& net);

//! Copies blobs into the network. Every parameter must be present exactly once with the
//! same shape, and nothing else may be there; otherwise throws CheckpointError naming the
//! tensor and `what` (the file).
void import_parameters(MscredNet& net, const std::vector<TensorBlob>& blobs,
                       const std::string& what);

}  // namespace mscred::model
