#include "mscred/daemon/scorer.h"

#include <algorithm>
#include <stdexcept>

#include "mscred/connectors/log.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/fake_scorer.h"

#ifdef MSCRED_HAVE_MODEL
#include "mscred/model/detector.h"
#endif

namespace mscred::daemon {

#ifdef MSCRED_HAVE_MODEL
namespace {

// model::Detector as a StepScorer: windows [h, scales, n, n] of normalised signature
// matrices (the EntityState of layout kSignatures builds them with the checkpoint's own
// normaliser and signature config), scored with the checkpoint's ScoreConfig and
// thresholds. Owned and called by the worker thread.
class DetectorScorer : public StepScorer {
 public:
  //! `cache_mb`: the stream cache's bound in MiB, turned into a number of streams from the
  //! model's bytes per stream. The cache is in effect only when the network reads at least 2
  //! steps of a window (consecutive windows then share some).
  DetectorScorer(std::unique_ptr<model::Detector> detector, bool stream_cache, size_t cache_mb)
      : detector_(std::move(detector)) {
    const model::ModelInfo& m = detector_->info();
    stream_cache_ = stream_cache && model::input_steps(m.net) >= 2;
    if (stream_cache_) {
      const size_t per_stream = std::max<size_t>(1, detector_->stream_stats().bytes_per_stream);
      cache_streams_ = std::max<size_t>(1, (cache_mb << 20) / per_stream);
    }
    detector_->set_stream_cache_limit(cache_streams_);
    info_.layout = WindowLayout::kSignatures;
    info_.normaliser = m.normaliser;
    info_.model_id = m.model_id;
    info_.version = "format-" + std::to_string(m.format_version);
    info_.sensors = m.sensors;
    info_.scales = m.signature.scales;
    info_.step = m.signature.step;
    info_.history = m.signature.history;
    info_.thresholds = m.thresholds.tau;
    info_.window_floats = detector_->window_size();
  }

  const ScorerInfo& info() const override { return info_; }
  size_t cache_streams() const { return cache_streams_; }
  const model::Detector& detector() const { return *detector_; }

  std::vector<StepOutcome> score(const float* windows, size_t batch) override {
    return outcomes(detector_->score(windows, batch));
  }

  std::vector<StepOutcome> score_streams(const float* windows, size_t batch,
                                         const uint64_t* stream_ids) override {
    if (!stream_cache_) return score(windows, batch);
    return outcomes(detector_->score_stream(windows, batch, stream_ids));
  }

  void forget_stream(uint64_t stream_id) override { detector_->forget_stream(stream_id); }
  bool stream_cache() const override { return stream_cache_; }

  CacheCounters cache_counters() const override {
    const auto s = detector_->stream_stats();
    return {s.hits, s.misses};
  }

 private:
  static std::vector<StepOutcome> outcomes(const std::vector<pipeline::Detection>& detections) {
    std::vector<StepOutcome> out(detections.size());
    for (size_t b = 0; b < detections.size(); ++b) {
      const pipeline::Detection& d = detections[b];
      StepOutcome& o = out[b];
      o.detected = d.detected;
      o.severity = pipeline::to_string(d.severity);
      for (auto c : d.score.count)
        o.scores.push_back(static_cast<double>(c));
      for (const auto& s : d.top_sensors) {
        o.top_sensors.push_back({static_cast<size_t>(s.sensor), static_cast<int>(s.count), s.mass});
      }
      for (const auto& p : d.top_pairs) {
        o.top_pairs.push_back({static_cast<size_t>(p.i), static_cast<size_t>(p.j), p.residual});
      }
    }
    return out;
  }

  std::unique_ptr<model::Detector> detector_;
  bool stream_cache_ = false;
  size_t cache_streams_ = 0;  //!< the bound in streams (0 = cache off)
  ScorerInfo info_;
};

}  // namespace
#endif

std::unique_ptr<StepScorer> load_scorer(const ModelConfig& model, const Config& config) {
  if (model.fake) {
    return std::make_unique<FakeScorer>(model.name, model.fake_sensors, config.pipeline.scales,
                                        config.pipeline.step, config.pipeline.history,
                                        model.fake_level, config.scoring.top_k);
  }
#ifdef MSCRED_HAVE_MODEL
  auto detector = model::Detector::load(
      model.path, model::DeviceOptions{config.worker.device, config.worker.threads,
                                       model::parse_onednn(config.worker.onednn)});
  auto scorer = std::make_unique<DetectorScorer>(std::move(detector), model.stream_cache,
                                                 model.stream_cache_mb);
  // The checkpoint's signature and scoring settings win: they are what the model was
  // trained and thresholded with. Say so when the config disagrees.
  const ScorerInfo& info = scorer->info();
  if (info.scales != config.pipeline.scales || info.step != config.pipeline.step ||
      info.history != config.pipeline.history) {
    connectors::logger("worker")->warn(
        "model '{}' ({}): using the checkpoint's signature config (step {}, history {}), "
        "not the pipeline section's",
        model.name, model.path, info.step, info.history);
  }
  const auto& net = scorer->detector().info().net;
  connectors::logger("worker")->info(
      "model '{}' ({}): objective {} (the network reads {} of the {} steps of a window), "
      "device {}, convolutions {} (worker.onednn {})",
      model.name, model.path, model::to_string(net.objective), model::input_steps(net), net.history,
      scorer->detector().device(), scorer->detector().onednn() ? "oneDNN" : "ATen's choice",
      config.worker.onednn);
  if (scorer->stream_cache()) {
    connectors::logger("worker")->info(
        "model '{}': stream cache for up to {} entities ({:.1f} MiB each, stream_cache_mb {})",
        model.name, scorer->cache_streams(),
        static_cast<double>(scorer->detector().stream_stats().bytes_per_stream) / (1 << 20),
        model.stream_cache_mb);
  }
  return scorer;
#else
  // Built without LibTorch (MSCRED_WITH_TORCH=OFF): only fake models can be served.
  throw std::runtime_error("model '" + model.name + "': cannot load checkpoint '" + model.path +
                           "': this build has no model/ (LibTorch); use a fake: model");
#endif
}

}  // namespace mscred::daemon
