#include "mscred/daemon/scorer.h"

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
  explicit DetectorScorer(std::unique_ptr<model::Detector> detector)
      : detector_(std::move(detector)) {
    const model::ModelInfo& m = detector_->info();
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

  std::vector<StepOutcome> score(const float* windows, size_t batch) override {
    std::vector<pipeline::Detection> detections = detector_->score(windows, batch);
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

 private:
  std::unique_ptr<model::Detector> detector_;
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
      model.path, model::DeviceOptions{config.worker.device, config.worker.threads});
  auto scorer = std::make_unique<DetectorScorer>(std::move(detector));
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
  return scorer;
#else
  // Built without LibTorch (MSCRED_WITH_TORCH=OFF): only fake models can be served.
  throw std::runtime_error("model '" + model.name + "': cannot load checkpoint '" + model.path +
                           "': this build has no model/ (LibTorch); use a fake: model");
#endif
}

}  // namespace mscred::daemon
