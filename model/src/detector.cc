#include "mscred/model/detector.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

#include "fit.h"
#include "mscred/model/checkpoint.h"
#include "mscred_net.h"
#include "stream_engine.h"

namespace mscred::model {

struct Detector::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  MscredNet net{nullptr};
  std::unique_ptr<StreamEngine> stream;
  torch::Tensor pinned;  //!< page-locked staging buffer for host -> CUDA copies
};

namespace {

torch::Device resolve_device(const std::string& name) {
  if (name.empty() || name == "auto") {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0)
                                       : torch::Device(torch::kCPU);
  }
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw std::runtime_error("device " + name +
                               ": CUDA is not available in this build or on this machine "
                               "(LibTorch reports no CUDA device); use device: cpu or auto");
    }
    int index = 0;
    if (name.size() > 4) {
      if (name[4] != ':') throw std::runtime_error("device " + name + ": expected cuda:N");
      try {
        index = std::stoi(name.substr(5));
      } catch (const std::exception&) {
        throw std::runtime_error("device " + name + ": expected cuda:N");
      }
    }
    if (index < 0 || index >= static_cast<int>(torch::cuda::device_count())) {
      throw std::runtime_error("device " + name + ": only " +
                               std::to_string(torch::cuda::device_count()) + " CUDA devices");
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw std::runtime_error("device '" + name + "': expected cpu, cuda:N or auto");
}

void check_sensors(const ModelInfo& info, const std::vector<std::string>& expected,
                   const std::string& path) {
  if (expected.empty() || expected == info.sensors) return;
  std::string msg = "checkpoint " + path + ": sensor set differs from the data: model has " +
                    std::to_string(info.sensors.size()) + " sensors, data has " +
                    std::to_string(expected.size());
  const auto common = std::min(expected.size(), info.sensors.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (expected[i] != info.sensors[i]) {
      msg += "; first difference at position " + std::to_string(i) + ": model '" + info.sensors[i] +
             "', data '" + expected[i] + "'";
      break;
    }
  }
  throw CheckpointError(msg);
}

}  // namespace

Detector::Detector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Detector::~Detector() = default;

std::unique_ptr<Detector> Detector::load(const std::string& path, const DeviceOptions& device,
                                         const std::vector<std::string>& expected_sensors) {
  auto impl = std::make_unique<Impl>();
  const auto contents = read_checkpoint(path);
  impl->info = model_info_from_json(contents.metadata_json, path);
  impl->info.format_version = contents.format_version;
  check_sensors(impl->info, expected_sensors, path);

  if (device.threads > 0) torch::set_num_threads(device.threads);
  impl->device = resolve_device(device.device);
  impl->net = MscredNet(impl->info.net);
  import_parameters(impl->net, contents.tensors, path);
  impl->net->to(impl->device);
  impl->net->eval();
  impl->net->set_mkldnn(impl->device.is_cpu() &&
                        onednn_in_effect(device.onednn, torch::get_num_threads()));
  // Default bound: 256 streams or 1 GiB of cache, whichever is smaller.
  impl->stream = std::make_unique<StreamEngine>(impl->net, impl->device, 256);
  const std::size_t per_stream = std::max<std::size_t>(1, impl->stream->bytes_per_stream());
  impl->stream->set_max_streams(
      std::max<std::size_t>(1, std::min<std::size_t>(256, (std::size_t{1} << 30) / per_stream)));
  return std::unique_ptr<Detector>(new Detector(std::move(impl)));
}

const ModelInfo& Detector::info() const {
  return impl_->info;
}

std::string Detector::device() const {
  return impl_->device.str();
}

bool Detector::onednn() const {
  return impl_->net->mkldnn();
}

std::size_t Detector::window_size() const {
  const auto& c = impl_->info.net;
  return static_cast<std::size_t>(c.history * c.scales * c.n * c.n);
}

std::size_t Detector::matrix_size() const {
  const auto& c = impl_->info.net;
  return static_cast<std::size_t>(c.scales * c.n * c.n);
}

namespace {
// Runs the network on `batch` windows; returns (newest step, reconstruction) on the CPU.
std::pair<torch::Tensor, torch::Tensor> run(Detector::Impl& impl, const float* windows,
                                            std::size_t batch) {
  const auto& c = impl.info.net;
  torch::NoGradGuard no_grad;
  auto x = torch::from_blob(const_cast<float*>(windows),
                            {static_cast<std::int64_t>(batch), c.history, c.scales, c.n, c.n},
                            torch::kFloat32);
  torch::Tensor xd;
  if (impl.device.is_cuda()) {
    // Page-locked staging buffer, reused between calls, and an asynchronous copy.
    if (!impl.pinned.defined() || impl.pinned.numel() < x.numel()) {
      impl.pinned = torch::empty({x.numel()},
                                 torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
    }
    auto staged = impl.pinned.narrow(0, 0, x.numel()).view(x.sizes());
    staged.copy_(x);
    xd = staged.to(impl.device, /*non_blocking=*/true);
  } else {
    xd = x;
  }
  auto y = impl.net->forward(xd).to(torch::kCPU).contiguous();
  return {x.select(1, c.history - 1), y};
}
}  // namespace

void Detector::reconstruct(const float* windows, std::size_t batch, float* out) {
  if (batch == 0) return;
  auto [x, y] = run(*impl_, windows, batch);
  std::copy(y.data_ptr<float>(), y.data_ptr<float>() + y.numel(), out);
}

void Detector::residuals(const float* windows, std::size_t batch, float* out) {
  if (batch == 0) return;
  auto [x, y] = run(*impl_, windows, batch);
  auto r = (x - y).square().contiguous();
  std::copy(r.data_ptr<float>(), r.data_ptr<float>() + r.numel(), out);
}

void Detector::reconstruct_stream(const float* windows, std::size_t batch,
                                  const std::uint64_t* stream_ids, float* out) {
  if (batch == 0) return;
  auto y = impl_->stream->reconstruct(windows, batch, stream_ids);
  std::copy(y.data_ptr<float>(), y.data_ptr<float>() + y.numel(), out);
}

void Detector::residuals_stream(const float* windows, std::size_t batch,
                                const std::uint64_t* stream_ids, float* out) {
  if (batch == 0) return;
  auto y = impl_->stream->reconstruct(windows, batch, stream_ids);
  // (x_newest - y)^2 in the same float arithmetic as residuals().
  const auto& c = impl_->info.net;
  auto x = torch::from_blob(const_cast<float*>(windows),
                            {static_cast<std::int64_t>(batch), c.history, c.scales, c.n, c.n},
                            torch::kFloat32);
  auto r = (x.select(1, c.history - 1) - y).square().contiguous();
  std::copy(r.data_ptr<float>(), r.data_ptr<float>() + r.numel(), out);
}

void Detector::forget_stream(std::uint64_t stream_id) {
  impl_->stream->forget(stream_id);
}

void Detector::set_stream_cache_limit(std::size_t max_streams) {
  impl_->stream->set_max_streams(max_streams);
}

Detector::StreamStats Detector::stream_stats() const {
  const auto& s = impl_->stream->stats();
  StreamStats out;
  out.hits = s.hits;
  out.misses = s.misses;
  out.evictions = s.evictions;
  out.streams = s.streams;
  out.max_streams = impl_->stream->max_streams();
  out.bytes_per_stream = impl_->stream->bytes_per_stream();
  return out;
}

std::vector<pipeline::Detection> Detector::score_stream(const float* windows, std::size_t batch,
                                                        const std::uint64_t* stream_ids,
                                                        std::vector<float>* residuals_out) {
  std::vector<float> local;
  std::vector<float>& r = residuals_out != nullptr ? *residuals_out : local;
  r.resize(batch * matrix_size());
  residuals_stream(windows, batch, stream_ids, r.data());
  return detect_all(r, batch);
}

std::vector<pipeline::Detection> Detector::detect_all(const std::vector<float>& r,
                                                      std::size_t batch) const {
  std::vector<pipeline::Detection> out(batch);
  const auto scales = static_cast<std::size_t>(impl_->info.net.scales);
  const auto n = static_cast<std::size_t>(impl_->info.net.n);
  for (std::size_t b = 0; b < batch; ++b) {
    pipeline::detect_into(r.data() + b * matrix_size(), scales, n, impl_->info.score,
                          impl_->info.thresholds, &out[b]);
  }
  return out;
}

std::vector<pipeline::Detection> Detector::score(const float* windows, std::size_t batch,
                                                 std::vector<float>* residuals_out) {
  std::vector<float> local;
  std::vector<float>& r = residuals_out != nullptr ? *residuals_out : local;
  r.resize(batch * matrix_size());
  residuals(windows, batch, r.data());
  return detect_all(r, batch);
}

}  // namespace mscred::model
