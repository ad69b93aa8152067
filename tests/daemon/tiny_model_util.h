#pragma once
// The tiny MSCRED checkpoint of the model integration tests: how it is trained and the mscredd
// config that serves it.

#include <string>

#include "mscred/model/train.h"

namespace mscred::daemon::testing {

//! Training options of a tiny checkpoint `model_id` written to `path`: scales {5, 10},
//! history 3, a step every `step` samples, a quarter of the rows held out for validation,
//! learning rate 2e-3, batches of 16, one thread. The caller sets epochs, patience, seed and
//! theta.
inline model::TrainOptions tiny_train_options(const std::string& model_id, const std::string& path,
                                              int step) {
  model::TrainOptions o;
  o.model_id = model_id;
  o.output_path = path;
  o.signature.scales = {5, 10};
  o.signature.step = step;
  o.signature.history = 3;
  o.validation_fraction = 0.25;
  o.learning_rate = 2e-3;
  o.batch_size = 16;
  o.threads = 1;
  return o;
}

//! mscredd config serving the checkpoint at `path` (trained with tiny_train_options(..., step))
//! as model `name` to every entity, samples over TCP on an ephemeral loopback port, one CPU
//! worker thread; the log sink, metrics and health are off (the test passes its own sink).
inline std::string tiny_daemon_yaml(const std::string& name, const std::string& path, int step) {
  return R"(
sources: [{type: tcp, listen: "127.0.0.1:0"}]
models: [{name: )" +
         name + R"(, path: ")" + path + R"("}]
entities: {unknown: default, default_model: )" +
         name + R"(}
pipeline: {scales: [5, 10], step: )" +
         std::to_string(step) + R"(, history: 3}
worker: {device: cpu, threads: 1, max_batch: 8, max_wait_ms: 2}
sinks: {log: {enabled: false}}
metrics: {enabled: false}
health: {enabled: false}
logging: {level: warn}
)";
}

}  // namespace mscred::daemon::testing
