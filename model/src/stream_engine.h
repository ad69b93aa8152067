#pragma once
// Streaming inference with a per-stream cache of ConvLSTM input-to-state gates. Private to
// model/ (LibTorch). See docs/model.md, "Streaming cache".
//
// The network reads T = MscredNet::input_steps() steps of each window: steps 0..T-1, with
// T = h (reconstruct) or h - 1 (forecast: step h-1 is only the target). In a stream,
// consecutive windows share T - 1 of those input steps. What one step contributes that does
// not depend on where the window starts is its encoder output and the ConvLSTM's
// input-to-state gates W_x * enc_l(x_t) + b of every level; those are kept per stream for the
// last T - 1 input steps. A new window then costs the encoder and W_x of its input step T-1
// only; the recurrence (W_h of steps 2..T), attention and decoder run as in the plain forward.
//
// Validity does not rest on bookkeeping: the cache also holds the raw input matrices of the
// steps it covers, and a window reuses it only when its first T - 1 steps are bit-identical
// (memcmp) to them. Otherwise (first window of a stream, a gap, a reset, another stream's
// id) the whole window is computed and the cache refilled from it.

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "mscred_net.h"

namespace mscred::model {

struct StreamCacheStats {
  std::uint64_t hits = 0;       //!< windows that reused T - 1 cached steps
  std::uint64_t misses = 0;     //!< windows computed in full (no or non-matching cache)
  std::uint64_t evictions = 0;  //!< streams dropped to stay within max_streams
  std::size_t streams = 0;      //!< streams cached now
};

//! Owns the cache; uses (does not own) the network, which must stay alive and in eval mode.
//! Not thread-safe: one caller at a time, like the network.
class StreamEngine {
 public:
  //! `max_streams` bounds memory (least recently used streams are evicted); 0 disables
  //! caching (every window is a miss and nothing is stored).
  StreamEngine(MscredNet net, torch::Device device, std::size_t max_streams);

  //! windows [batch, h, scales, n, n] on the host (oldest step first), stream_ids[batch] ->
  //! reconstructions [batch, scales, n, n] on the host (contiguous float). A stream id may
  //! appear more than once in a batch (`mscred eval` sends consecutive windows of its one
  //! stream): a window reuses the steps of the previous window of its stream in the batch
  //! when they are bit-identical, else it is checked against the cache as it was before
  //! the call; the cache keeps the stream's last window.
  torch::Tensor reconstruct(const float* windows, std::size_t batch,
                            const std::uint64_t* stream_ids);

  void forget(std::uint64_t stream_id);
  void clear();
  void set_max_streams(std::size_t max_streams);
  std::size_t max_streams() const { return max_streams_; }
  const StreamCacheStats& stats() const { return stats_; }
  //! Bytes held per cached stream: (T-1) * [scales*n*n + sum_l 4*C_l*H_l^2] floats, T =
  //! MscredNet::input_steps().
  std::size_t bytes_per_stream() const;

 private:
  //! Per level, per step: gates [4C_l, H_l, H_l].
  using StepGates = std::vector<std::vector<torch::Tensor>>;
  struct Entry {
    std::vector<float> raw;  //!< input steps 2..T of the last window, [T-1, scales, n, n]
    StepGates gates;         //!< per level, T-1 steps [4C_l, H_l, H_l] (device)
    std::list<std::uint64_t>::iterator lru;
  };

  void store(std::uint64_t id, const float* window, const StepGates& steps);
  void evict_to(std::size_t keep);

  MscredNet net_;
  torch::Device device_;
  std::size_t max_streams_;
  std::int64_t history_;     //!< steps per window in the caller's buffer (h)
  std::int64_t steps_;       //!< of them, steps feeding the network (T = input_steps())
  std::size_t step_floats_;  //!< scales * n * n
  std::size_t bytes_per_stream_ = 0;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::list<std::uint64_t> lru_;  //!< most recent first
  StreamCacheStats stats_;
  torch::Tensor pinned_;                 //!< page-locked staging buffer (CUDA only)
  std::vector<torch::Tensor> assembly_;  //!< per level, the [B, T] gates buffer, reused
};

}  // namespace mscred::model
