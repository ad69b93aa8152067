#include "mscred/daemon/worker.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <sstream>

#include "mscred/connectors/log.h"
#include "mscred/daemon/fake_scorer.h"

namespace mscred::daemon {

using connectors::AckToken;
using connectors::Record;
using connectors::RejectReason;
using Clock = std::chrono::steady_clock;

TsCheck check_timestamp(bool has_last, double last_ts, double ts, const TsLimits& limits,
                        double now_s) {
  if (limits.max_ahead_s > 0.0 && ts > now_s + limits.max_ahead_s) return TsCheck::kAheadOfNow;
  if (!has_last) return TsCheck::kAccept;
  if (ts > last_ts) {
    return limits.max_jump_s > 0.0 && ts - last_ts > limits.max_jump_s ? TsCheck::kJump
                                                                       : TsCheck::kAccept;
  }
  return ts == last_ts ? TsCheck::kDuplicate : TsCheck::kOutOfOrder;
}

// ---- QueueIngest ----------------------------------------------------------------------

void QueueIngest::count(const char* source, bool is_sample) {
  pushed_.fetch_add(1);
  if (metrics_ == nullptr || !is_sample) return;
  // Counter lookups take the registry's mutex; sources call from few threads, so a
  // per-thread cache keyed by the source name's address keeps the hot path lock-free.
  thread_local std::vector<std::pair<const char*, prometheus::Counter*>> cache;
  for (auto& [name, counter] : cache) {
    if (name == source) {
      counter->Increment();
      return;
    }
  }
  auto& counter = metrics_->sample_counter(source);
  cache.emplace_back(source, &counter);
  counter.Increment();
}

bool QueueIngest::push(Record&& record) {
  const char* source = record.source;
  const bool is_sample = record.kind == Record::Kind::kSample;
  // A closed queue (shutdown) takes nothing, and nothing is counted as ingested.
  if (!queue_.push(std::move(record))) return false;
  count(source, is_sample);
  return true;
}

bool QueueIngest::push_for(Record& record, std::chrono::milliseconds timeout) {
  const char* source = record.source;
  const bool is_sample = record.kind == Record::Kind::kSample;
  if (!queue_.push_for(record, timeout)) return false;
  count(source, is_sample);
  return true;
}

void QueueIngest::rejected(const char* source, RejectReason reason) {
  rejects_.fetch_add(1);
  if (metrics_ != nullptr) metrics_->reject_counter(source, reason).Increment();
}

// ---- Worker internals -----------------------------------------------------------------

struct Worker::Model {
  ModelConfig config;
  std::unique_ptr<StepScorer> scorer;
  connectors::SensorIndex index;
  std::vector<PendingStep> pending;
  Clock::time_point first_pending{};
  prometheus::Counter* steps_counter = nullptr;
  uint64_t generation = 0;                      // bumped when a reload changes the window layout
  StepScorer::CacheCounters cache_seen;         // scorer's cache counters already exported
  std::optional<CapacityMeasurement> capacity;  // when its load is declared and checked
};

struct Worker::Entity {
  std::string name;
  Model* model = nullptr;
  uint64_t generation = 0;
  std::unique_ptr<EntityState> state;
  uint64_t stream_id = 0;  // names this state to the scorer's stream cache; new per state
  bool has_ts = false;
  double last_ts = 0.0;
  std::vector<double> last_row;  // for missing = hold_last
  bool has_row = false;
  std::vector<AckToken> unacked;  // records that fed the step being built
  Clock::time_point newest_ingest{};
  // Records in a row beyond pipeline.max_ts_jump_s, in order with each other (future_ts
  // until pipeline.future_ts_confirm of them say the jump is real), and the newest ts.
  int jump_run = 0;
  double jump_ts = 0.0;
};

struct Worker::PendingStep {
  std::string entity;
  uint64_t stream_id = 0;
  double step_ts = 0.0;
  std::vector<float> window;
  std::vector<AckToken> acks;
  Clock::time_point ingest_time{};
};

namespace {
// Stream ids are unique in the process, so a recreated entity never inherits a cache.
std::atomic<uint64_t> next_stream_id{1};

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string join_scales(const std::vector<int>& scales) {
  std::string s;
  for (int v : scales)
    s += (s.empty() ? "" : ",") + std::to_string(v);
  return s;
}

// The model's description must be self-consistent, or the windows the entity states
// build would not be what the model reads; checked at load, not at the first step.
void check_scorer(const StepScorer& scorer, const std::string& name) {
  const ScorerInfo& info = scorer.info();
  if (info.sensors.empty() || info.window_floats == 0 || info.scales.empty() ||
      info.thresholds.size() != info.scales.size()) {
    throw std::runtime_error("model '" + name + "': inconsistent model info");
  }
  if (info.layout == WindowLayout::kSignatures) {
    const size_t n = info.sensors.size();
    const size_t expected = static_cast<size_t>(info.history) * info.scales.size() * n * n;
    if (info.window_floats != expected) {
      throw std::runtime_error("model '" + name + "': window of " +
                               std::to_string(info.window_floats) + " floats, expected " +
                               std::to_string(expected) + " (history x scales x n x n)");
    }
    make_entity_state(info);  // throws if the normaliser does not fit
  }
}

// Checked again right before each (re)load: a symlink swapped in after the config check
// must not lead outside model_dirs either.
void check_model_dir(const Config& config, const ModelConfig& model) {
  std::string resolved;
  if (model.fake || model_path_allowed(config.model_dirs, model.path, resolved)) return;
  throw std::runtime_error("model '" + model.name + "': '" + model.path + "' resolves to '" +
                           resolved + "', outside model_dirs");
}
}  // namespace

Worker::Worker(const Config& config, RecordQueue& queue, std::vector<connectors::AlertSink*> sinks,
               connectors::Metrics* metrics, ScorerLoader loader)
    : config_(config),
      queue_(queue),
      sinks_(std::move(sinks)),
      metrics_(metrics),
      loader_(std::move(loader)),
      instance_(config.sinks.instance.empty() ? host_name() : config.sinks.instance) {
  for (const auto& mc : config_.models) {
    auto m = std::make_unique<Model>();
    m->config = mc;
    check_model_dir(config_, mc);
    m->scorer = load_model(mc);
    m->capacity = measure(mc, *m->scorer);
    m->index = connectors::SensorIndex(m->scorer->info().sensors);
    if (metrics_ != nullptr) {
      const ScorerInfo& info = m->scorer->info();
      m->steps_counter = &metrics_->steps_counter(info.model_id);
      metrics_->set_model_info(info.model_id, info.version, info.sensors.size(),
                               join_scales(info.scales));
    }
    connectors::logger("worker")->info("model '{}' loaded: {} sensors, scales {}", mc.name,
                                       m->scorer->info().sensors.size(),
                                       join_scales(m->scorer->info().scales));
    models_.push_back(std::move(m));
  }

  // All models share this worker's thread, so they are checked together.
  CapacityVerdict verdict = capacity_verdict(models_.size(), std::nullopt, ScorerInfo{});
  for (const auto& m : models_)
    export_capacity(*m);
  if (!verdict.ok) {
    if (config_.worker.capacity_check == WorkerConfig::CapacityCheck::kRefuse) {
      throw std::runtime_error("capacity check: " + verdict.message);
    }
    connectors::logger("worker")->warn("capacity check (warn only): {}", verdict.message);
  }
}

std::unique_ptr<StepScorer> Worker::load_model(const ModelConfig& mc) const {
  std::unique_ptr<StepScorer> scorer = loader_(mc, config_);
  if (mc.fake && mc.fake_step_cost_ms > 0) {
    scorer = std::make_unique<CostlyScorer>(
        std::move(scorer),
        std::chrono::microseconds(static_cast<long>(mc.fake_step_cost_ms * 1000.0)));
  }
  check_scorer(*scorer, mc.name);
  return scorer;
}

std::optional<CapacityMeasurement> Worker::measure(const ModelConfig& mc,
                                                   StepScorer& scorer) const {
  if (config_.worker.capacity_check == WorkerConfig::CapacityCheck::kOff ||
      mc.expected_entities == 0) {
    return std::nullopt;
  }
  CapacityMeasurement m = measure_capacity(scorer, config_.worker.max_batch);
  connectors::logger("worker")->info(
      "model '{}': measured {:.1f} steps/s at batch {} ({}; median of {} timed batches: {:.2f} "
      "ms); declared load {} entities x {} samples/s / step {} = {:.1f} steps/s",
      mc.name, m.steps_per_s, m.batch,
      m.streaming ? "streaming: each entity's next step, with the cache" : "full windows", m.reps,
      m.median_batch_s * 1e3, mc.expected_entities, mc.samples_per_s, scorer.info().step,
      static_cast<double>(mc.expected_entities) * mc.samples_per_s / scorer.info().step);
  return m;
}

CapacityVerdict Worker::capacity_verdict(size_t index,
                                         const std::optional<CapacityMeasurement>& candidate,
                                         const ScorerInfo& candidate_info) const {
  std::vector<CapacityDemand> demands;
  for (size_t i = 0; i < models_.size(); ++i) {
    const auto& capacity = i == index ? candidate : models_[i]->capacity;
    if (!capacity) continue;
    const ModelConfig& mc = models_[i]->config;
    const ScorerInfo& info = i == index ? candidate_info : models_[i]->scorer->info();
    demands.push_back({mc.name, mc.expected_entities, mc.samples_per_s, info.step, *capacity});
  }
  return check_capacity(demands, config_.worker.capacity_headroom);
}

void Worker::export_capacity(const Model& m) const {
  if (metrics_ == nullptr || !m.capacity) return;
  const double required = static_cast<double>(m.config.expected_entities) * m.config.samples_per_s /
                          m.scorer->info().step;
  metrics_->set_model_capacity(m.scorer->info().model_id, m.capacity->steps_per_s, required);
}

Worker::~Worker() {
  if (thread_.joinable()) {
    abandon_ = true;
    queue_.close();
    thread_.join();
  }
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

bool Worker::drain(Clock::time_point deadline) {
  draining_ = true;
  queue_.close();
  // The worker exits once the closed queue is empty and the batches are scored.
  while (thread_.joinable() && !finished_.load() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bool in_time = finished_.load();
  if (!in_time) {
    connectors::logger("worker")->error(
        "drain deadline passed with {} records queued: abandoning them unacknowledged",
        queue_.size());
    abandon_ = true;
  }
  if (thread_.joinable()) thread_.join();
  auto now = Clock::now();
  auto left = deadline > now ? std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)
                             : std::chrono::milliseconds(0);
  for (auto* sink : sinks_) {
    if (!sink->flush(std::max(left, std::chrono::milliseconds(100)))) {
      connectors::logger("worker")->error("a sink did not deliver everything before the deadline");
      in_time = false;
    }
  }
  return in_time;
}

void Worker::run() {
  auto log = connectors::logger("worker");
  Record record;
  Clock::time_point last_gauges{};
  while (!abandon_.load()) {
    if (reload_requested_.exchange(false)) reload_models();

    // Sleep no longer than the oldest pending step may still wait.
    auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(100));
    auto now = Clock::now();
    auto max_wait = std::chrono::milliseconds(config_.worker.max_wait_ms);
    for (const auto& m : models_) {
      if (m->pending.empty()) continue;
      auto due = m->first_pending + max_wait;
      timeout = std::min(timeout, due > now ? due - now : Clock::duration::zero());
    }

    auto result = queue_.pop_for(record, timeout);
    if (result == RecordQueue::PopResult::kItem) {
      handle(record);
      // Take what is already queued before checking the batch clocks.
      for (int i = 0; i < 256 && queue_.pop_for(record, Clock::duration::zero()) ==
                                     RecordQueue::PopResult::kItem;
           ++i) {
        handle(record);
      }
    } else if (result == RecordQueue::PopResult::kClosed) {
      flush_due(true);
      break;
    }
    flush_due(false);

    now = Clock::now();
    if (metrics_ != nullptr && now - last_gauges > std::chrono::milliseconds(250)) {
      last_gauges = now;
      metrics_->set_queue(queue_.size(), queue_.capacity());
      metrics_->set_entities(entities_.size());
    }
  }
  if (metrics_ != nullptr) {
    metrics_->set_queue(queue_.size(), queue_.capacity());
    metrics_->set_entities(entities_.size());
  }
  finished_ = true;
}

void Worker::reject(const Record& record, RejectReason reason, const std::string& detail) {
  stats_.rejected.fetch_add(1);
  rejected_by_reason_[static_cast<size_t>(reason)].fetch_add(1);
  if (metrics_ != nullptr) metrics_->reject_counter(record.source, reason).Increment();
  connectors::ack(record.ack);

  // At most 10 reject lines per second: a broken feed must not flood the log.
  auto now = Clock::now();
  if (now - reject_log_window_ > std::chrono::seconds(1)) {
    reject_log_window_ = now;
    logged_rejects_ = 0;
  }
  if (++logged_rejects_ <= 10) {
    connectors::logger("worker")->warn("{}: entity '{}' ts {}: {}: {}", record.source,
                                       record.entity, record.ts,
                                       connectors::reject_reason_name(reason), detail);
  }
}

Worker::Entity* Worker::entity_for(const Record& record) {
  auto it = entities_.find(record.entity);
  if (it != entities_.end()) return it->second.get();

  std::string model_name;
  auto mapped = config_.entities.models.find(record.entity);
  if (mapped != config_.entities.models.end()) {
    model_name = mapped->second;
  } else if (config_.entities.unknown == EntitiesConfig::Unknown::kDefault) {
    model_name = config_.entities.default_model;
  } else {
    return nullptr;
  }
  if (entities_.size() >= config_.entities.max_entities) return nullptr;
  Model* model = nullptr;
  for (auto& m : models_) {
    if (m->config.name == model_name) model = m.get();
  }
  if (model == nullptr) return nullptr;

  auto e = std::make_unique<Entity>();
  e->name = record.entity;
  e->model = model;
  e->generation = model->generation;
  e->state = make_entity_state(model->scorer->info());
  e->stream_id = next_stream_id.fetch_add(1);
  Entity* raw = e.get();
  entities_.emplace(record.entity, std::move(e));
  connectors::logger("worker")->debug("new entity '{}' on model '{}'", record.entity, model_name);
  return raw;
}

void Worker::handle(Record& record) {
  if (record.kind == Record::Kind::kResetEntity) {
    // Its partition moved away: forget the state; if it comes back it warms again.
    // Unacknowledged records belong to the revoked partition and are re-read elsewhere.
    auto it = entities_.find(record.entity);
    if (it != entities_.end()) it->second->model->scorer->forget_stream(it->second->stream_id);
    entities_.erase(record.entity);
    return;
  }
  stats_.records.fetch_add(1);

  Entity* e = entity_for(record);
  if (e == nullptr) {
    bool full = entities_.size() >= config_.entities.max_entities;
    reject(record, RejectReason::kUnknownEntity,
           full ? "entities.max_entities reached" : "no model for this entity");
    return;
  }
  if (e->generation != e->model->generation) {
    // The model was reloaded with another layout: start the entity's windows again.
    e->state = make_entity_state(e->model->scorer->info());
    e->stream_id = next_stream_id.fetch_add(1);
    e->generation = e->model->generation;
    for (const auto& t : e->unacked)
      connectors::ack(t);
    e->unacked.clear();
  }

  const PipelineConfig& pc = config_.pipeline;
  const double now_s =
      pc.max_ts_ahead_s > 0.0
          ? std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count()
          : 0.0;
  TsCheck check = check_timestamp(e->has_ts, e->last_ts, record.ts,
                                  {pc.max_ts_jump_s, pc.max_ts_ahead_s}, now_s);
  if (check == TsCheck::kJump) {
    bool continues =
        e->jump_run > 0 && record.ts > e->jump_ts && record.ts - e->jump_ts <= pc.max_ts_jump_s;
    e->jump_run = continues ? e->jump_run + 1 : 1;
    e->jump_ts = record.ts;
    if (pc.future_ts_confirm > 0 && e->jump_run >= pc.future_ts_confirm) {
      // Several records agree: the producer's clock really moved on (an outage). The
      // windows would span the gap, so they start again.
      connectors::logger("worker")->warn(
          "entity '{}': ts jumped by {} s (confirmed by {} records): its windows warm up again",
          e->name, record.ts - e->last_ts, e->jump_run);
      e->state = make_entity_state(e->model->scorer->info());
      for (const auto& t : e->unacked)
        connectors::ack(t);
      e->unacked.clear();
      check = TsCheck::kAccept;
    }
  }
  if (check != TsCheck::kJump) e->jump_run = 0;
  switch (check) {
    case TsCheck::kAccept:
      break;
    case TsCheck::kJump:
      reject(record, RejectReason::kFutureTs,
             "more than pipeline.max_ts_jump_s after the previous sample");
      return;
    case TsCheck::kAheadOfNow:
      reject(record, RejectReason::kFutureTs, "more than pipeline.max_ts_ahead_s ahead of now");
      return;
    case TsCheck::kDuplicate:
      reject(record, RejectReason::kDuplicateTs, "same ts as the previous sample");
      return;
    case TsCheck::kOutOfOrder:
      reject(record, RejectReason::kOutOfOrder, "older than the previous sample");
      return;
  }

  thread_local std::vector<double> row;
  auto status = connectors::resolve_values(record, e->model->index, config_.pipeline.missing,
                                           e->has_row ? e->last_row.data() : nullptr, row);
  if (!status.ok()) {
    reject(record, status.reason, status.detail);
    return;
  }
  e->has_ts = true;
  e->last_ts = record.ts;
  e->last_row = row;
  e->has_row = true;
  if (record.ack.target != nullptr) e->unacked.push_back(record.ack);
  e->newest_ingest = record.ingest_time;

  if (!e->state->push(row.data())) return;
  if (!e->state->window_ready() || record.replay) {
    // Warm-up, or a step re-read only to warm the windows after a restart (it was scored
    // before): not scored, so its records are done.
    for (const auto& t : e->unacked)
      connectors::ack(t);
    e->unacked.clear();
    return;
  }

  Model& m = *e->model;
  PendingStep step;
  step.entity = e->name;
  step.stream_id = e->stream_id;
  step.step_ts = record.ts;
  step.window.resize(m.scorer->info().window_floats);
  e->state->window(step.window.data());
  step.acks.swap(e->unacked);
  step.ingest_time = e->newest_ingest;
  if (m.pending.empty()) m.first_pending = Clock::now();
  m.pending.push_back(std::move(step));
  if (m.pending.size() >= config_.worker.max_batch) score_batch(m);
}

void Worker::flush_due(bool force) {
  auto now = Clock::now();
  auto max_wait = std::chrono::milliseconds(config_.worker.max_wait_ms);
  for (auto& m : models_) {
    if (m->pending.empty()) continue;
    if (force || now - m->first_pending >= max_wait) score_batch(*m);
  }
}

void Worker::score_batch(Model& m) {
  const ScorerInfo& info = m.scorer->info();
  const size_t batch = m.pending.size();
  thread_local std::vector<float> windows;
  thread_local std::vector<uint64_t> stream_ids;
  windows.resize(batch * info.window_floats);
  stream_ids.resize(batch);
  for (size_t i = 0; i < batch; ++i) {
    stream_ids[i] = m.pending[i].stream_id;
    std::copy(m.pending[i].window.begin(), m.pending[i].window.end(),
              windows.begin() + static_cast<long>(i * info.window_floats));
  }

  auto t0 = Clock::now();
  std::vector<StepOutcome> outcomes;
  try {
    outcomes = m.scorer->score_streams(windows.data(), batch, stream_ids.data());
  } catch (const std::exception& ex) {
    // Not acknowledged: Kafka re-delivers these after a restart.
    connectors::logger("worker")->error("model '{}': inference of {} steps failed: {}",
                                        m.config.name, batch, ex.what());
    m.pending.clear();
    return;
  }
  auto t1 = Clock::now();
  stats_.batches.fetch_add(1);
  if (metrics_ != nullptr) {
    metrics_->observe_inference(std::chrono::duration<double>(t1 - t0).count());
    const auto seen = m.scorer->cache_counters();
    metrics_->add_stream_cache(info.model_id, seen.hits - m.cache_seen.hits,
                               seen.misses - m.cache_seen.misses);
    m.cache_seen = seen;
  }

  for (size_t i = 0; i < batch && i < outcomes.size(); ++i) {
    PendingStep& step = m.pending[i];
    const StepOutcome& o = outcomes[i];
    if (metrics_ != nullptr) {
      for (size_t s = 0; s < info.scales.size() && s < o.scores.size(); ++s) {
        metrics_->set_score(step.entity, info.scales[s], o.scores[s], info.thresholds[s]);
      }
    }
    if (o.detected) {
      connectors::Alert alert;
      alert.entity = step.entity;
      alert.step_ts = step.step_ts;
      alert.severity = o.severity;
      alert.scales = info.scales;
      alert.scores = o.scores;
      alert.thresholds = info.thresholds;
      for (const auto& s : o.top_sensors) {
        alert.top_sensors.push_back({info.sensors.at(s.index), s.count, s.mass});
      }
      for (const auto& p : o.top_pairs) {
        alert.top_pairs.push_back({info.sensors.at(p.i), info.sensors.at(p.j), p.residual});
      }
      alert.model_id = info.model_id;
      alert.instance = instance_;
      alert.ingest_time = step.ingest_time;
      // The step's records are acknowledged when every sink has delivered the alert (the
      // Kafka sink: on the broker's delivery report), never when a delivery failed.
      auto delivery = std::make_shared<connectors::DeliveryGroup>(std::move(step.acks));
      step.acks.clear();
      for (auto* sink : sinks_)
        sink->publish_tracked(alert, delivery);
      delivery.reset();
      stats_.alerts.fetch_add(1);
      if (metrics_ != nullptr) metrics_->alert(o.severity);
    }
    if (metrics_ != nullptr) {
      metrics_->observe_end_to_end(
          std::chrono::duration<double>(Clock::now() - step.ingest_time).count());
    }
    // Scored without an alert: the records behind this step are done.
    for (const auto& t : step.acks)
      connectors::ack(t);
    stats_.steps_scored.fetch_add(1);
  }
  if (m.steps_counter != nullptr) m.steps_counter->Increment(static_cast<double>(batch));
  m.pending.clear();
}

void Worker::reload_models() {
  auto log = connectors::logger("worker");
  for (auto& m : models_) {
    std::unique_ptr<StepScorer> fresh;
    std::optional<CapacityMeasurement> capacity;
    try {
      check_model_dir(config_, m->config);
      fresh = load_model(m->config);
      capacity = measure(m->config, *fresh);
    } catch (const std::exception& ex) {
      log->error("reload of model '{}' failed, keeping the loaded one: {}", m->config.name,
                 ex.what());
      continue;
    }
    const size_t index = static_cast<size_t>(&m - models_.data());
    CapacityVerdict verdict = capacity_verdict(index, capacity, fresh->info());
    if (!verdict.ok) {
      if (config_.worker.capacity_check == WorkerConfig::CapacityCheck::kRefuse) {
        log->error("reload of model '{}' refused by the capacity check, keeping the loaded one: {}",
                   m->config.name, verdict.message);
        continue;
      }
      log->warn("capacity check (warn only): {}", verdict.message);
    }
    m->capacity = capacity;
    // Score what is pending with the model that produced the windows.
    if (!m->pending.empty()) score_batch(*m);
    const ScorerInfo& old_info = m->scorer->info();
    const ScorerInfo& new_info = fresh->info();
    bool same_layout = old_info.sensors == new_info.sensors && old_info.scales == new_info.scales &&
                       old_info.window_floats == new_info.window_floats;
    m->scorer = std::move(fresh);
    m->cache_seen = {};
    m->index = connectors::SensorIndex(m->scorer->info().sensors);
    if (!same_layout) ++m->generation;
    if (metrics_ != nullptr) {
      m->steps_counter = &metrics_->steps_counter(new_info.model_id);
      metrics_->set_model_info(new_info.model_id, new_info.version, new_info.sensors.size(),
                               join_scales(new_info.scales));
    }
    export_capacity(*m);
    log->info("model '{}' reloaded{}", m->config.name,
              same_layout ? "" : " with a new layout: its entities warm up again");
  }
}

}  // namespace mscred::daemon
