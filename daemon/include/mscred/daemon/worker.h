#pragma once
// The worker: per-entity streaming state, batching across entities, scoring, alerts.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mscred/connectors/alert.h"
#include "mscred/connectors/metrics.h"
#include "mscred/connectors/source.h"
#include "mscred/daemon/bounded_queue.h"
#include "mscred/daemon/capacity.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/entity_state.h"
#include "mscred/daemon/scorer.h"

namespace mscred::daemon {

using RecordQueue = BoundedQueue<connectors::Record>;

//! The timestamp rule, per entity: a sample is accepted only if its ts is strictly newer
//! than the entity's last accepted ts. An equal ts is a duplicate (reason duplicate_ts),
//! an older one is out of order (reason out_of_order); both are counted and dropped, and
//! the entity's state is unchanged. (Re-sorting would need a reorder buffer and delay every
//! alert; producers that reorder should fix it upstream.)
//! With limits, a ts more than `max_jump_s` beyond the last accepted one is kJump, and one
//! more than `max_ahead_s` ahead of `now_s` (wall clock, Unix seconds) is kAheadOfNow,
//! also for an entity's first record; both are rejected as future_ts. 0 = that bound off.
enum class TsCheck { kAccept, kDuplicate, kOutOfOrder, kJump, kAheadOfNow };
struct TsLimits {
  double max_jump_s = 0.0;
  double max_ahead_s = 0.0;
};
TsCheck check_timestamp(bool has_last, double last_ts, double ts, const TsLimits& limits = {},
                        double now_s = 0.0);

//! The RecordConsumer the sources push into: the bounded queue plus the ingest and reject
//! counters. Thread-safe (called from every source thread).
class QueueIngest : public connectors::RecordConsumer {
 public:
  QueueIngest(RecordQueue& queue, connectors::Metrics* metrics)
      : queue_(queue), metrics_(metrics) {}
  bool push(connectors::Record&& record) override;
  bool push_for(connectors::Record& record, std::chrono::milliseconds timeout) override;
  void rejected(const char* source, connectors::RejectReason reason) override;
  uint64_t pushed() const { return pushed_.load(); }
  uint64_t rejects() const { return rejects_.load(); }

 private:
  void count(const char* source, bool is_sample);
  RecordQueue& queue_;
  connectors::Metrics* metrics_;
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> rejects_{0};
};

//! Loads (and reloads) the scorer of a model; see load_scorer().
using ScorerLoader =
    std::function<std::unique_ptr<StepScorer>(const ModelConfig& model, const Config& config)>;

//! Owns the models, every entity's streaming state and the pending batches, all on its
//! one thread (the thread that owns the model). It pops records from the queue, applies
//! the timestamp rule and the missing-data policy, pushes rows into the entity's state
//! and, when a step with a full window is emitted, queues the window for its model. A
//! model's batch is scored when it holds worker.max_batch steps or its oldest step has
//! waited worker.max_wait_ms. After scoring: metrics, alerts to every sink, then the
//! acknowledgement of every record that fed the step (Kafka stores offsets then).
//! start()/drain()/request_reload() from the owner's thread; drain() blocks.
class Worker {
 public:
  struct Stats {
    std::atomic<uint64_t> records{0};   // samples popped from the queue
    std::atomic<uint64_t> rejected{0};  // rejected by the worker (entity, ts, values)
    std::atomic<uint64_t> steps_scored{0};
    std::atomic<uint64_t> alerts{0};
    std::atomic<uint64_t> batches{0};
  };

  //! Loads every model (throws std::runtime_error naming the model on failure) and, when
  //! worker.capacity_check is refuse, refuses (throws) a set of models whose measured
  //! steps/s cannot keep up with their declared load (capacity.h).
  Worker(const Config& config, RecordQueue& queue, std::vector<connectors::AlertSink*> sinks,
         connectors::Metrics* metrics, ScorerLoader loader = load_scorer);
  ~Worker();

  void start();
  //! Call after the sources stopped: closes the queue, processes what is in it, scores
  //! pending batches, flushes the sinks and joins. Returns false if `deadline` passed
  //! first (the rest is abandoned unacknowledged, so Kafka re-delivers it).
  bool drain(std::chrono::steady_clock::time_point deadline);
  //! Reloads every model from disk at the next loop turn (SIGHUP). A model that fails
  //! to load, or fails the capacity check, keeps the old one and the reason is logged.
  void request_reload() { reload_requested_ = true; }
  const Stats& stats() const { return stats_; }
  //! Per-reason counts of records rejected by the worker.
  uint64_t rejected(connectors::RejectReason reason) const {
    return rejected_by_reason_[static_cast<size_t>(reason)].load();
  }

 private:
  struct Model;
  struct Entity;
  struct PendingStep;

  void run();
  void handle(connectors::Record& record);
  void reject(const connectors::Record& record, connectors::RejectReason reason,
              const std::string& detail);
  Entity* entity_for(const connectors::Record& record);
  void flush_due(bool force);
  void score_batch(Model& model);
  void reload_models();
  std::unique_ptr<StepScorer> load_model(const ModelConfig& model) const;
  //! Measures `scorer` when its model declares a load and the check is on; empty if not.
  std::optional<CapacityMeasurement> measure(const ModelConfig& model, StepScorer& scorer) const;
  //! The verdict with `candidate` (a model being loaded) in place of models_[index].
  CapacityVerdict capacity_verdict(size_t index,
                                   const std::optional<CapacityMeasurement>& candidate,
                                   const ScorerInfo& candidate_info) const;
  void export_capacity(const Model& model) const;

  Config config_;
  RecordQueue& queue_;
  std::vector<connectors::AlertSink*> sinks_;
  connectors::Metrics* metrics_;
  ScorerLoader loader_;
  std::string instance_;

  std::vector<std::unique_ptr<Model>> models_;
  std::unordered_map<std::string, std::unique_ptr<Entity>> entities_;

  std::thread thread_;
  std::atomic<bool> reload_requested_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> abandon_{false};
  std::atomic<bool> finished_{false};
  Stats stats_;
  std::atomic<uint64_t>
      rejected_by_reason_[static_cast<size_t>(connectors::RejectReason::kCount)]{};
  uint64_t logged_rejects_ = 0;
  std::chrono::steady_clock::time_point reject_log_window_{};
};

}  // namespace mscred::daemon
