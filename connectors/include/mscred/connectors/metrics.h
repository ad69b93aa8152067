#pragma once
// Prometheus metrics of the daemon (names fixed by docs/interfaces.md) and their exposer.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mscred/connectors/record.h"

namespace mscred::connectors {

//! Owns the registry and every metric family; scrape() renders them in the Prometheus text
//! format for whatever HTTP server the daemon runs (see daemon.cc). All methods
//! are thread-safe: counters are atomics, label lookups take a mutex and are cached by
//! callers on hot paths (sample_counter, reject_counter). Never blocks except for that
//! mutex.
class Metrics {
 public:
  //! `max_entities` bounds the number of entities with `mscred_score`/`mscred_threshold`
  //! series; later entities are scored but get no per-entity series (logged once).
  explicit Metrics(size_t max_entities = 1000);
  ~Metrics();

  //! The current values in the Prometheus text exposition format (version 0.0.4).
  std::string scrape() const;

  prometheus::Counter& sample_counter(const std::string& source);
  prometheus::Counter& reject_counter(const std::string& source, RejectReason reason);
  prometheus::Counter& steps_counter(const std::string& model);
  void alert(const std::string& severity);
  //! Sets score and threshold of `entity` at `scale`; false when the entity is beyond
  //! the bound.
  bool set_score(const std::string& entity, int scale, double score, double threshold);
  void observe_inference(double seconds);
  //! Adds to mscred_stream_cache_hits_total / _misses_total{model} (windows that reused
  //! their entity's cached steps / were computed in full).
  void add_stream_cache(const std::string& model, uint64_t hits, uint64_t misses);
  void observe_end_to_end(double seconds);
  void set_queue(size_t depth, size_t capacity);
  void set_model_info(const std::string& model, const std::string& version, size_t sensors,
                      const std::string& scales);
  //! `mscred_model_capacity_steps_per_second{model}` (measured at start-up and reload by
  //! the capacity check) and `mscred_model_required_steps_per_second{model}` (declared).
  void set_model_capacity(const std::string& model, double steps_per_s, double required);
  void set_entities(size_t count);
  void set_ready(bool ready);
  void set_kafka_lag(const std::string& topic, int partition, double lag);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  size_t max_entities_;

  prometheus::Family<prometheus::Counter>* samples_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* steps_;
  prometheus::Family<prometheus::Counter>* cache_hits_;
  prometheus::Family<prometheus::Counter>* cache_misses_;
  prometheus::Family<prometheus::Counter>* alerts_;
  prometheus::Family<prometheus::Gauge>* score_;
  prometheus::Family<prometheus::Gauge>* threshold_;
  prometheus::Histogram* inference_;
  prometheus::Histogram* end_to_end_;
  prometheus::Gauge* queue_depth_;
  prometheus::Gauge* queue_capacity_;
  prometheus::Family<prometheus::Gauge>* model_info_;
  prometheus::Family<prometheus::Gauge>* model_capacity_;
  prometheus::Family<prometheus::Gauge>* model_required_;
  prometheus::Gauge* entities_;
  prometheus::Gauge* ready_;
  prometheus::Family<prometheus::Gauge>* kafka_lag_;

  std::mutex mutex_;  // guards the caches below
  std::map<std::string, prometheus::Counter*> sample_cache_;
  std::map<std::pair<std::string, int>, prometheus::Counter*> reject_cache_;
  std::map<std::string, prometheus::Counter*> steps_cache_;
  std::map<std::string, std::pair<prometheus::Counter*, prometheus::Counter*>> stream_cache_;
  std::map<std::pair<std::string, int>, std::pair<prometheus::Gauge*, prometheus::Gauge*>>
      score_cache_;
  std::unordered_map<std::string, bool> labelled_entities_;
  bool warned_entity_bound_ = false;
};

}  // namespace mscred::connectors
