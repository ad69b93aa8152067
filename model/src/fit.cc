#include "fit.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <numeric>
#include <random>

namespace mscred::model {
namespace {

using Clock = std::chrono::steady_clock;

torch::Tensor batch_tensor(const WindowSet& set, const std::vector<std::int64_t>& index,
                           std::size_t begin, std::size_t end, const ModelConfig& c) {
  const auto count = static_cast<std::int64_t>(end - begin);
  auto out = torch::empty({count, c.history, c.scales, c.n, c.n});
  float* dst = out.data_ptr<float>();
  for (std::size_t i = begin; i < end; ++i) {
    const float* src = set.data.data() + static_cast<std::size_t>(index[i]) * set.window_size;
    std::copy(src, src + set.window_size, dst + (i - begin) * set.window_size);
  }
  return out;
}

std::vector<torch::Tensor> snapshot(MscredNet& net) {
  std::vector<torch::Tensor> copy;
  for (const auto& p : net->parameters())
    copy.push_back(p.detach().clone());
  return copy;
}

void restore(MscredNet& net, const std::vector<torch::Tensor>& copy) {
  torch::NoGradGuard no_grad;
  auto params = net->parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    params[i].copy_(copy[i]);
}

}  // namespace

torch::Tensor forward_batch(MscredNet& net, const torch::Tensor& x, bool shared) {
  if (!shared) return net->forward(x);
  auto s = share_consecutive_steps(x, net->input_steps());
  return net->forward_steps(s.steps, s.index);
}

double evaluate_loss(MscredNet& net, const WindowSet& windows, std::size_t batch_size,
                     bool shared) {
  if (windows.count == 0) return std::numeric_limits<double>::quiet_NaN();
  torch::NoGradGuard no_grad;
  net->eval();
  std::vector<std::int64_t> index(windows.count);
  std::iota(index.begin(), index.end(), 0);
  double sum = 0.0;
  for (std::size_t b = 0; b < windows.count; b += batch_size) {
    const auto e = std::min(windows.count, b + batch_size);
    auto x = batch_tensor(windows, index, b, e, net->config());
    sum += reconstruction_loss(forward_batch(net, x, shared), x).item<double>() *
           static_cast<double>(e - b);
  }
  return sum / static_cast<double>(windows.count);
}

FitResult fit(MscredNet& net, const WindowSet& train, const WindowSet& validation,
              const FitOptions& options) {
  FitResult result;
  if (train.count == 0) throw std::invalid_argument("train: no training windows");
  if (options.batch_order == BatchOrder::kAuto) {
    throw std::invalid_argument("fit: batch order auto must be resolved (resolve_batch_order)");
  }
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(options.learning_rate));
  std::mt19937_64 rng(options.seed);
  std::vector<std::int64_t> order(train.count);
  std::iota(order.begin(), order.end(), 0);
  const auto batch = std::max<std::size_t>(1, options.batch_size);
  const bool contiguous = options.batch_order == BatchOrder::kContiguous;
  // kContiguous: batch k is windows kB .. kB+B-1; the batches' order is what is shuffled.
  std::vector<std::size_t> batch_starts;
  for (std::size_t b = 0; b < train.count; b += batch)
    batch_starts.push_back(b);
  std::vector<std::int64_t> identity(order);

  const auto start = Clock::now();
  double best = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_weights;
  std::size_t windows_seen = 0;
  int since_best = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    if (contiguous) {
      std::shuffle(batch_starts.begin(), batch_starts.end(), rng);
    } else {
      std::shuffle(order.begin(), order.end(), rng);
    }
    net->train();
    double loss_sum = 0.0;
    FitProgress p;
    p.epoch = epoch;
    p.epochs = options.epochs;
    p.windows_total = train.count;
    std::size_t done = 0;
    for (std::size_t k = 0; k < batch_starts.size(); ++k) {
      const auto b = contiguous ? batch_starts[k] : k * batch;
      const auto e = std::min(train.count, b + batch);
      auto x = batch_tensor(train, contiguous ? identity : order, b, e, net->config());
      adam.zero_grad();
      auto loss = reconstruction_loss(forward_batch(net, x, contiguous), x);
      loss.backward();
      adam.step();
      loss_sum += loss.item<double>() * static_cast<double>(e - b);
      windows_seen += e - b;
      done += e - b;

      p.windows_done = done;
      p.train_loss = loss_sum / static_cast<double>(done);
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      p.windows_per_s = static_cast<double>(windows_seen) / std::max(elapsed, 1e-9);
      const double left_windows =
          static_cast<double>(train.count - done) +
          static_cast<double>(train.count) * static_cast<double>(options.epochs - epoch);
      p.seconds_left = left_windows / std::max(p.windows_per_s, 1e-9);
      if (options.progress && done < train.count) options.progress(p);
    }
    result.train_loss.push_back(loss_sum / static_cast<double>(train.count));

    // Early stopping on validation loss; without validation windows the train loss decides.
    const double val = validation.count > 0 ? evaluate_loss(net, validation, batch, contiguous)
                                            : result.train_loss.back();
    if (validation.count > 0) result.val_loss.push_back(val);
    if (val < best) {
      best = val;
      best_weights = snapshot(net);
      result.best_epoch = epoch;
      since_best = 0;
    } else {
      ++since_best;
    }
    p.val_loss = validation.count > 0 ? val : -1.0;
    p.epoch_end = true;
    if (options.progress) options.progress(p);
    if (since_best >= options.patience && epoch < options.epochs) {
      result.stopped_early = true;
      break;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (options.max_seconds > 0.0 && epoch < options.epochs &&
        elapsed * static_cast<double>(epoch + 1) / static_cast<double>(epoch) >
            options.max_seconds) {
      result.stopped_by_time = true;
      break;
    }
  }
  if (!best_weights.empty()) restore(net, best_weights);
  net->eval();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.train_windows_per_s = static_cast<double>(windows_seen) / std::max(result.seconds, 1e-9);
  return result;
}

std::vector<TensorBlob> export_parameters(MscredNet& net) {
  std::vector<TensorBlob> blobs;
  for (const auto& p : net->named_parameters()) {
    auto t = p.value().detach().to(torch::kCPU).contiguous();
    TensorBlob b;
    b.name = p.key();
    b.shape.assign(t.sizes().begin(), t.sizes().end());
    b.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    blobs.push_back(std::move(b));
  }
  return blobs;
}

void import_parameters(MscredNet& net, const std::vector<TensorBlob>& blobs,
                       const std::string& what) {
  std::map<std::string, const TensorBlob*> by_name;
  for (const auto& b : blobs) {
    if (!by_name.emplace(b.name, &b).second) {
      throw CheckpointError("checkpoint " + what + ": tensor " + b.name + " appears twice");
    }
  }
  torch::NoGradGuard no_grad;
  auto params = net->named_parameters();
  for (auto& p : params) {
    auto it = by_name.find(p.key());
    if (it == by_name.end()) {
      throw CheckpointError("checkpoint " + what + ": missing tensor " + p.key());
    }
    const auto& shape = it->second->shape;
    if (std::vector<std::int64_t>(p.value().sizes().begin(), p.value().sizes().end()) != shape) {
      throw CheckpointError("checkpoint " + what + ": tensor " + p.key() + " has shape " +
                            c10::str(c10::IntArrayRef(shape)) + ", the model expects " +
                            c10::str(p.value().sizes()));
    }
    auto src = torch::from_blob(const_cast<float*>(it->second->data.data()), p.value().sizes(),
                                torch::kFloat32);
    p.value().copy_(src);
    by_name.erase(it);
  }
  if (!by_name.empty()) {
    throw CheckpointError("checkpoint " + what + ": unexpected tensor " + by_name.begin()->first);
  }
}

}  // namespace mscred::model
