#include "mscred/connectors/metrics.h"

#include <prometheus/text_serializer.h>

#include "mscred/connectors/log.h"

namespace mscred::connectors {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Batches take from ~100 us (CPU, tiny model) to a few hundred ms (large batch on CPU).
const prometheus::Histogram::BucketBoundaries kInferenceBuckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
// End to end includes the wait for the rest of the step and the batch wait.
const prometheus::Histogram::BucketBoundaries kEndToEndBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};
}  // namespace

Metrics::Metrics(size_t max_entities)
    : registry_(std::make_shared<prometheus::Registry>()), max_entities_(max_entities) {
  auto& r = *registry_;
  samples_ = &BuildCounter()
                  .Name("mscred_samples_ingested_total")
                  .Help("Samples accepted by a source and queued for the worker.")
                  .Register(r);
  rejected_ = &BuildCounter()
                   .Name("mscred_records_rejected_total")
                   .Help("Records rejected, by source and reason.")
                   .Register(r);
  steps_ = &BuildCounter()
                .Name("mscred_steps_scored_total")
                .Help("Steps (signature windows) scored by the model.")
                .Register(r);
  cache_hits_ = &BuildCounter()
                     .Name("mscred_stream_cache_hits_total")
                     .Help("Windows that reused their entity's cached steps (stream cache).")
                     .Register(r);
  cache_misses_ = &BuildCounter()
                       .Name("mscred_stream_cache_misses_total")
                       .Help("Windows computed in full (no matching stream cache).")
                       .Register(r);
  alerts_ = &BuildCounter()
                 .Name("mscred_alerts_total")
                 .Help("Alerts handed to the sinks, by severity.")
                 .Register(r);
  score_ = &BuildGauge()
                .Name("mscred_score")
                .Help("Latest anomaly score of an entity at a scale (window length).")
                .Register(r);
  threshold_ = &BuildGauge()
                    .Name("mscred_threshold")
                    .Help("Alert threshold of an entity at a scale (window length).")
                    .Register(r);
  inference_ = &BuildHistogram()
                    .Name("mscred_inference_duration_seconds")
                    .Help("Model inference time per batch.")
                    .Register(r)
                    .Add({}, kInferenceBuckets);
  end_to_end_ = &BuildHistogram()
                     .Name("mscred_end_to_end_latency_seconds")
                     .Help(
                         "Time from the arrival of a step's newest sample to its score "
                         "(and alert) being handed to the sinks.")
                     .Register(r)
                     .Add({}, kEndToEndBuckets);
  queue_depth_ = &BuildGauge()
                      .Name("mscred_queue_depth")
                      .Help("Records waiting between the sources and the worker.")
                      .Register(r)
                      .Add({});
  queue_capacity_ = &BuildGauge()
                         .Name("mscred_queue_capacity")
                         .Help("Capacity of the queue between the sources and the worker.")
                         .Register(r)
                         .Add({});
  model_info_ = &BuildGauge().Name("mscred_model_info").Help("Loaded model (value 1).").Register(r);
  model_capacity_ = &BuildGauge()
                         .Name("mscred_model_capacity_steps_per_second")
                         .Help("Steps/s the model scored at worker.max_batch, measured at load.")
                         .Register(r);
  model_required_ = &BuildGauge()
                         .Name("mscred_model_required_steps_per_second")
                         .Help("Steps/s the declared load needs (entities x rate / step).")
                         .Register(r);
  entities_ = &BuildGauge()
                   .Name("mscred_entities")
                   .Help("Entities with streaming state.")
                   .Register(r)
                   .Add({});
  ready_ = &BuildGauge()
                .Name("mscred_ready")
                .Help("1 when the daemon accepts and scores input.")
                .Register(r)
                .Add({});
  BuildGauge()
      .Name("mscred_build_info")
      .Help("Build of the daemon (value 1).")
      .Register(r)
      .Add({{"version", MSCRED_CONNECTORS_VERSION}})
      .Set(1);
  kafka_lag_ = &BuildGauge()
                    .Name("mscred_kafka_consumer_lag")
                    .Help("Messages between the consumer position and the high watermark.")
                    .Register(r);
}

Metrics::~Metrics() = default;

std::string Metrics::scrape() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

prometheus::Counter& Metrics::sample_counter(const std::string& source) {
  std::lock_guard lock(mutex_);
  auto& slot = sample_cache_[source];
  if (slot == nullptr) slot = &samples_->Add({{"source", source}});
  return *slot;
}

prometheus::Counter& Metrics::reject_counter(const std::string& source, RejectReason reason) {
  std::lock_guard lock(mutex_);
  auto& slot = reject_cache_[{source, static_cast<int>(reason)}];
  if (slot == nullptr) {
    slot = &rejected_->Add({{"source", source}, {"reason", reject_reason_name(reason)}});
  }
  return *slot;
}

prometheus::Counter& Metrics::steps_counter(const std::string& model) {
  std::lock_guard lock(mutex_);
  auto& slot = steps_cache_[model];
  if (slot == nullptr) slot = &steps_->Add({{"model", model}});
  return *slot;
}

void Metrics::add_stream_cache(const std::string& model, uint64_t hits, uint64_t misses) {
  if (hits == 0 && misses == 0) return;
  std::lock_guard lock(mutex_);
  auto& slot = stream_cache_[model];
  if (slot.first == nullptr) {
    slot.first = &cache_hits_->Add({{"model", model}});
    slot.second = &cache_misses_->Add({{"model", model}});
  }
  slot.first->Increment(static_cast<double>(hits));
  slot.second->Increment(static_cast<double>(misses));
}

void Metrics::alert(const std::string& severity) {
  alerts_->Add({{"severity", severity}}).Increment();
}

bool Metrics::set_score(const std::string& entity, int scale, double score, double threshold) {
  std::lock_guard lock(mutex_);
  auto it = labelled_entities_.find(entity);
  if (it == labelled_entities_.end()) {
    bool allowed = labelled_entities_.size() < max_entities_;
    it = labelled_entities_.emplace(entity, allowed).first;
    if (!allowed && !warned_entity_bound_) {
      warned_entity_bound_ = true;
      logger("metrics")->warn(
          "more than {} entities: entity '{}' and later ones get no mscred_score series "
          "(raise metrics.max_entities)",
          max_entities_, entity);
    }
  }
  if (!it->second) return false;
  auto& slot = score_cache_[{entity, scale}];
  if (slot.first == nullptr) {
    std::string s = std::to_string(scale);
    slot.first = &score_->Add({{"entity", entity}, {"scale", s}});
    slot.second = &threshold_->Add({{"entity", entity}, {"scale", s}});
  }
  slot.first->Set(score);
  slot.second->Set(threshold);
  return true;
}

void Metrics::observe_inference(double seconds) {
  inference_->Observe(seconds);
}
void Metrics::observe_end_to_end(double seconds) {
  end_to_end_->Observe(seconds);
}

void Metrics::set_queue(size_t depth, size_t capacity) {
  queue_depth_->Set(static_cast<double>(depth));
  queue_capacity_->Set(static_cast<double>(capacity));
}

void Metrics::set_model_capacity(const std::string& model, double steps_per_s, double required) {
  model_capacity_->Add({{"model", model}}).Set(steps_per_s);
  model_required_->Add({{"model", model}}).Set(required);
}

void Metrics::set_model_info(const std::string& model, const std::string& version, size_t sensors,
                             const std::string& scales) {
  model_info_
      ->Add({{"model", model},
             {"version", version},
             {"sensors", std::to_string(sensors)},
             {"scales", scales}})
      .Set(1);
}

void Metrics::set_entities(size_t count) {
  entities_->Set(static_cast<double>(count));
}
void Metrics::set_ready(bool ready) {
  ready_->Set(ready ? 1 : 0);
}

void Metrics::set_kafka_lag(const std::string& topic, int partition, double lag) {
  kafka_lag_->Add({{"topic", topic}, {"partition", std::to_string(partition)}}).Set(lag);
}

}  // namespace mscred::connectors
