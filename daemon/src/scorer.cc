#include "mscred/daemon/scorer.h"

#include <stdexcept>

#include "mscred/daemon/config.h"
#include "mscred/daemon/fake_scorer.h"

namespace mscred::daemon {

std::unique_ptr<StepScorer> load_scorer(const ModelConfig& model, const Config& config) {
  if (model.fake) {
    return std::make_unique<FakeScorer>(model.name, model.fake_sensors, config.pipeline.scales,
                                        config.pipeline.step, config.pipeline.history,
                                        model.fake_level, config.scoring.top_k);
  }
  // TODO: adapter from model::Detector (Detector::load(path, device), info(), score())
  // once model/ is merged into main; until then only fake models can be served and a
  // checkpoint path fails start-up with this message.
  throw std::runtime_error("model '" + model.name + "': cannot load checkpoint '" + model.path +
                           "': this build has no model::Detector yet (use a fake: model)");
}

}  // namespace mscred::daemon
