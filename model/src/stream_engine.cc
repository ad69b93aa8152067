#include "stream_engine.h"

#include <cstring>
#include <utility>

namespace mscred::model {

StreamEngine::StreamEngine(MscredNet net, torch::Device device, std::size_t max_streams)
    : net_(std::move(net)), device_(device), max_streams_(max_streams) {
  const auto& c = net_->config();
  history_ = c.history;
  steps_ = net_->input_steps();
  step_floats_ = static_cast<std::size_t>(c.scales * c.n * c.n);
  if (steps_ >= 2) {
    const auto sizes = level_sizes(c.n);
    std::size_t floats = step_floats_;
    for (std::size_t l = 0; l < 4; ++l) {
      const auto ch = static_cast<std::size_t>(net_->lstm[l]->as<ConvLstm>()->channels());
      const auto h = static_cast<std::size_t>(sizes.size[l]);
      floats += 4 * ch * h * h;
    }
    bytes_per_stream_ = floats * static_cast<std::size_t>(steps_ - 1) * sizeof(float);
  }
}

std::size_t StreamEngine::bytes_per_stream() const {
  return bytes_per_stream_;
}

void StreamEngine::forget(std::uint64_t stream_id) {
  auto it = entries_.find(stream_id);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
  stats_.streams = entries_.size();
}

void StreamEngine::clear() {
  entries_.clear();
  lru_.clear();
  stats_.streams = 0;
}

void StreamEngine::set_max_streams(std::size_t max_streams) {
  max_streams_ = max_streams;
  evict_to(max_streams_);
}

void StreamEngine::evict_to(std::size_t keep) {
  while (entries_.size() > keep) {
    entries_.erase(lru_.back());
    lru_.pop_back();
    ++stats_.evictions;
  }
  stats_.streams = entries_.size();
}

void StreamEngine::store(std::uint64_t id, const float* window, const StepGates& steps) {
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    evict_to(max_streams_ - 1);  // max_streams_ >= 1 here
    lru_.push_front(id);
    it = entries_.emplace(id, Entry{}).first;
    it->second.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& e = it->second;
  const auto keep = static_cast<std::size_t>(steps_ - 1);
  e.raw.assign(window + step_floats_, window + (keep + 1) * step_floats_);
  e.gates = steps;
  stats_.streams = entries_.size();
}

torch::Tensor StreamEngine::reconstruct(const float* windows, std::size_t batch,
                                        const std::uint64_t* stream_ids) {
  const auto& c = net_->config();
  const auto t = steps_;  // input steps per window (the network's input_steps())
  const auto b = static_cast<std::int64_t>(batch);
  const std::size_t window_floats = step_floats_ * static_cast<std::size_t>(history_);
  const bool caching = max_streams_ > 0 && t >= 2;
  torch::NoGradGuard no_grad;

  // Where each window's first t-1 input steps come from: the previous window of the same
  // stream in this batch (`prev`), else the stream's cache as it was before the call
  // (`hit`), in both cases only when the raw steps are bit-identical; otherwise they are
  // computed. Only a stream's last window in the batch refills the cache.
  std::vector<std::int64_t> prev(batch, -1);
  std::vector<const Entry*> hit(batch, nullptr);
  std::vector<char> refill(batch, caching ? 1 : 0);
  if (caching) {
    const std::size_t shared = step_floats_ * static_cast<std::size_t>(t - 1) * sizeof(float);
    std::unordered_map<std::uint64_t, std::size_t> latest;
    for (std::size_t i = 0; i < batch; ++i) {
      const float* w = windows + i * window_floats;
      auto [pos, first_of_stream] = latest.try_emplace(stream_ids[i], i);
      if (!first_of_stream) {
        const std::size_t j = pos->second;
        refill[j] = 0;
        pos->second = i;
        if (std::memcmp(windows + j * window_floats + step_floats_, w, shared) == 0) {
          prev[i] = static_cast<std::int64_t>(j);
          continue;
        }
      }
      auto it = entries_.find(stream_ids[i]);
      if (it != entries_.end() && std::memcmp(it->second.raw.data(), w, shared) == 0) {
        hit[i] = &it->second;
      }
    }
  }

  // The steps to encode: the newest input step of every window that reuses, all t of the
  // others, in batch order. `first[i]` is the index of window i's first new step.
  std::vector<std::int64_t> first(batch);
  std::int64_t new_steps = 0;
  for (std::size_t i = 0; i < batch; ++i) {
    first[i] = new_steps;
    new_steps += (hit[i] != nullptr || prev[i] >= 0) ? 1 : t;
  }
  const auto host_floats = static_cast<std::int64_t>(step_floats_);
  torch::Tensor steps;
  if (new_steps == b * t && t == history_) {
    steps =
        torch::from_blob(const_cast<float*>(windows), {b * t, c.scales, c.n, c.n}, torch::kFloat32);
  } else {
    steps = torch::empty({new_steps, c.scales, c.n, c.n}, torch::kFloat32);
    float* dst = steps.data_ptr<float>();
    for (std::size_t i = 0; i < batch; ++i) {
      const float* w = windows + i * window_floats;
      const bool reuses = hit[i] != nullptr || prev[i] >= 0;
      const std::int64_t from = reuses ? t - 1 : 0;
      std::memcpy(dst + first[i] * host_floats, w + from * host_floats,
                  static_cast<std::size_t>((t - from) * host_floats) * sizeof(float));
    }
  }
  if (device_.is_cuda()) {
    // Page-locked staging and an asynchronous copy; the result's copy back synchronises.
    if (!pinned_.defined() || pinned_.numel() < steps.numel()) {
      pinned_ = torch::empty({steps.numel()},
                             torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
    }
    auto staged = pinned_.narrow(0, 0, steps.numel()).view(steps.sizes());
    staged.copy_(steps);
    steps = staged.to(device_, /*non_blocking=*/true);
  }
  auto fresh = net_->step_gates(steps);

  // Per level the gates of every window [B, t, 4C, H, W]: new steps, steps of the previous
  // window in the batch, cached steps.
  std::vector<torch::Tensor> gates(fresh.size());
  for (std::size_t l = 0; l < fresh.size(); ++l) {
    const auto& f = fresh[l];
    if (new_steps == b * t) {
      gates[l] = f.view({b, t, f.size(1), f.size(2), f.size(3)});
      continue;
    }
    // Into a buffer kept between calls: at batch 32 the first level's gates are ~74 MB at
    // n = 30, above glibc's mmap threshold, so a fresh tensor would be mapped and faulted
    // in page by page on every call.
    const auto per_step = f.size(1) * f.size(2) * f.size(3);
    if (assembly_.size() <= l) assembly_.resize(l + 1);
    auto& buf = assembly_[l];
    if (!buf.defined() || buf.numel() < b * t * per_step || buf.device() != f.device()) {
      buf = torch::empty({b * t * per_step}, f.options());
    }
    gates[l] = buf.narrow(0, 0, b * t * per_step).view({b, t, f.size(1), f.size(2), f.size(3)});
    for (std::size_t i = 0; i < batch; ++i) {
      const auto bi = static_cast<std::int64_t>(i);
      auto g = gates[l][bi];
      if (prev[i] >= 0) {
        g.narrow(0, 0, t - 1).copy_(gates[l][prev[i]].narrow(0, 1, t - 1));
        g[t - 1].copy_(f[first[i]]);
      } else if (hit[i] != nullptr) {
        for (std::int64_t k = 0; k < t - 1; ++k)
          g[k].copy_(hit[i]->gates[l][static_cast<std::size_t>(k)]);
        g[t - 1].copy_(f[first[i]]);
      } else {
        g.copy_(f.narrow(0, first[i], t));
      }
    }
  }
  for (std::size_t i = 0; i < batch; ++i) {
    if (hit[i] != nullptr || prev[i] >= 0) {
      ++stats_.hits;
    } else {
      ++stats_.misses;
    }
  }

  auto y = net_->forward_from_gates(gates).to(torch::kCPU).contiguous();

  // Refill the cache. A stream's new entry holds window i's input steps 1..t-1 as one tensor
  // per step and level: the steps it had cached are kept as they are (no copy), the others
  // are copied out of this call's tensors (for a stream advancing by one step: only the
  // newest). All entries are assembled before the first store(): a store can evict another
  // stream's entry that a later window of this batch hit, and hit[] points into it.
  std::vector<std::pair<std::size_t, StepGates>> refilled;  // (window, its new entry)
  for (std::size_t i = 0; i < batch; ++i) {
    if (refill[i] == 0) continue;
    StepGates kept(gates.size());
    for (std::size_t l = 0; l < gates.size(); ++l) {
      kept[l].reserve(static_cast<std::size_t>(t - 1));
      for (std::int64_t k = 1; k < t; ++k) {
        if (hit[i] != nullptr && k < t - 1) {
          kept[l].push_back(hit[i]->gates[l][static_cast<std::size_t>(k)]);
        } else {
          kept[l].push_back(gates[l][static_cast<std::int64_t>(i)][k].clone());
        }
      }
    }
    refilled.emplace_back(i, std::move(kept));
  }
  for (const auto& [i, kept] : refilled)
    store(stream_ids[i], windows + i * window_floats, kept);
  return y;
}

}  // namespace mscred::model
