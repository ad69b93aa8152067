#include "stream_engine.h"

#include <cstring>

namespace mscred::model {

StreamEngine::StreamEngine(MscredNet net, torch::Device device, std::size_t max_streams)
    : net_(std::move(net)), device_(device), max_streams_(max_streams) {
  const auto& c = net_->config();
  history_ = c.history;
  step_floats_ = static_cast<std::size_t>(c.scales * c.n * c.n);
  if (history_ >= 2) {
    const auto sizes = level_sizes(c.n);
    std::size_t floats = step_floats_;
    for (std::size_t l = 0; l < 4; ++l) {
      const auto ch = static_cast<std::size_t>(net_->lstm[l]->as<ConvLstm>()->channels());
      const auto h = static_cast<std::size_t>(sizes.size[l]);
      floats += 4 * ch * h * h;
    }
    bytes_per_stream_ = floats * static_cast<std::size_t>(history_ - 1) * sizeof(float);
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

void StreamEngine::store(std::uint64_t id, const float* window,
                         const std::vector<torch::Tensor>& gates, std::int64_t b) {
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
  const auto keep = static_cast<std::size_t>(history_ - 1);
  e.raw.assign(window + step_floats_, window + (keep + 1) * step_floats_);
  e.gates.resize(gates.size());
  for (std::size_t l = 0; l < gates.size(); ++l) {
    e.gates[l] = gates[l][b].narrow(0, 1, history_ - 1).clone();
  }
  stats_.streams = entries_.size();
}

torch::Tensor StreamEngine::reconstruct(const float* windows, std::size_t batch,
                                        const std::uint64_t* stream_ids) {
  const auto& c = net_->config();
  const auto h = history_;
  const auto b = static_cast<std::int64_t>(batch);
  const std::size_t window_floats = step_floats_ * static_cast<std::size_t>(h);
  const bool caching = max_streams_ > 0 && h >= 2;
  torch::NoGradGuard no_grad;

  // Which windows can reuse their stream's cache (checked against the cache as it is now).
  std::vector<const Entry*> hit(batch, nullptr);
  if (caching) {
    const std::size_t shared = step_floats_ * static_cast<std::size_t>(h - 1);
    for (std::size_t i = 0; i < batch; ++i) {
      auto it = entries_.find(stream_ids[i]);
      if (it == entries_.end()) continue;
      if (std::memcmp(it->second.raw.data(), windows + i * window_floats, shared * sizeof(float)) ==
          0) {
        hit[i] = &it->second;
      }
    }
  }

  // The steps to encode: the newest of every hit, all h of every miss, in batch order.
  std::vector<std::int64_t> first(batch);  // index of the window's first new step
  std::int64_t new_steps = 0;
  for (std::size_t i = 0; i < batch; ++i) {
    first[i] = new_steps;
    new_steps += hit[i] != nullptr ? 1 : h;
  }
  auto host =
      torch::from_blob(const_cast<float*>(windows), {b * h, c.scales, c.n, c.n}, torch::kFloat32);
  torch::Tensor steps;
  if (new_steps == b * h) {
    steps = host;
  } else {
    steps = torch::empty({new_steps, c.scales, c.n, c.n}, torch::kFloat32);
    for (std::size_t i = 0; i < batch; ++i) {
      const auto bi = static_cast<std::int64_t>(i);
      if (hit[i] != nullptr) {
        steps[first[i]].copy_(host[bi * h + h - 1]);
      } else {
        steps.narrow(0, first[i], h).copy_(host.narrow(0, bi * h, h));
      }
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

  // Per level the gates of every window [B, h, 4C, H, W]: cached steps + new ones.
  std::vector<torch::Tensor> gates(fresh.size());
  for (std::size_t l = 0; l < fresh.size(); ++l) {
    const auto& f = fresh[l];
    if (new_steps == b * h) {
      gates[l] = f.view({b, h, f.size(1), f.size(2), f.size(3)});
      continue;
    }
    gates[l] = torch::empty({b, h, f.size(1), f.size(2), f.size(3)}, f.options());
    for (std::size_t i = 0; i < batch; ++i) {
      const auto bi = static_cast<std::int64_t>(i);
      if (hit[i] != nullptr) {
        gates[l][bi].narrow(0, 0, h - 1).copy_(hit[i]->gates[l]);
        gates[l][bi][h - 1].copy_(f[first[i]]);
      } else {
        gates[l][bi].copy_(f.narrow(0, first[i], h));
      }
    }
  }
  for (std::size_t i = 0; i < batch; ++i) {
    if (hit[i] != nullptr) {
      ++stats_.hits;
    } else {
      ++stats_.misses;
    }
  }

  // Forecast: the network reads steps 0..h-2 only, which on a hit are all cached; the newest
  // step's gates were computed only to be stored for the next window.
  const auto inputs = net_->input_steps();
  std::vector<torch::Tensor> input_gates = gates;
  if (inputs != h) {
    for (auto& g : input_gates)
      g = g.narrow(1, 0, inputs);
  }
  auto y = net_->forward_from_gates(input_gates).to(torch::kCPU).contiguous();

  // Refill the cache (after the hits were read: entries may move or be evicted now).
  if (caching) {
    for (std::size_t i = 0; i < batch; ++i) {
      store(stream_ids[i], windows + i * window_floats, gates, static_cast<std::int64_t>(i));
    }
  }
  return y;
}

}  // namespace mscred::model
