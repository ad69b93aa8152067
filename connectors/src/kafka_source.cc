#include "mscred/connectors/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "mscred/connectors/log.h"
#include "mscred/connectors/metrics.h"

namespace mscred::connectors {

namespace {

// In-flight offsets of one assigned partition, in arrival (= offset) order.
struct PartitionTrack {
  std::string topic;
  int32_t partition = 0;
  bool active = true;
  std::deque<int64_t> offsets;
  std::deque<bool> finished;
  int64_t next_to_store = -1;  // offset after the longest finished prefix
  int64_t stored = -1;         // what was last handed to rd_kafka_offsets_store
  std::set<std::string> entities;
};

using PartitionKey = std::pair<std::string, int32_t>;

}  // namespace

struct KafkaSource::Impl {
  rd_kafka_t* rk = nullptr;
  std::mutex mutex;  // guards tracks and slot_of (done() comes from the worker thread)
  std::vector<PartitionTrack> tracks;  // indexed by AckToken::partition (a slot)
  std::map<PartitionKey, int32_t> slot_of;
  // Committed offset of each partition assigned with a rewind: records below it are replays.
  std::map<PartitionKey, int64_t> resume_at;
  int64_t rewind_records = 0;
  RecordParser parser;
  std::deque<Record> backlog;  // parsed, met a full queue, not yet pushed (in order)
  std::chrono::steady_clock::time_point last_lag_update{};
  KafkaSource* owner = nullptr;
  RecordConsumer* consumer = nullptr;

  // Slot of an assigned partition; a re-assigned partition gets a fresh slot, so late
  // done() calls for its old incarnation change nothing.
  int32_t slot(const std::string& topic, int32_t partition) {
    auto it = slot_of.find({topic, partition});
    if (it != slot_of.end() && tracks[it->second].active) return it->second;
    PartitionTrack t;
    t.topic = topic;
    t.partition = partition;
    if (auto r = resume_at.find({topic, partition}); r != resume_at.end()) {
      t.stored = r->second;  // never store (and commit) below the committed offset
    }
    tracks.push_back(std::move(t));
    int32_t id = static_cast<int32_t>(tracks.size() - 1);
    slot_of[{topic, partition}] = id;
    return id;
  }

  // Hands finished prefixes to librdkafka (which commits them on its auto-commit timer, on
  // rebalance and on close). Caller holds `mutex`.
  void store_finished() {
    rd_kafka_topic_partition_list_t* list = nullptr;
    for (auto& t : tracks) {
      if (!t.active || t.next_to_store <= t.stored) continue;
      if (list == nullptr) list = rd_kafka_topic_partition_list_new(4);
      rd_kafka_topic_partition_list_add(list, t.topic.c_str(), t.partition)->offset =
          t.next_to_store;
      t.stored = t.next_to_store;
    }
    if (list == nullptr) return;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk, list);
    if (err) logger("kafka")->warn("storing offsets failed: {}", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(list);
  }
};

namespace {

void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque);

}  // namespace

KafkaSource::KafkaSource(KafkaSourceOptions options, RecordConsumer& consumer, Metrics* metrics)
    : options_(std::move(options)),
      consumer_(consumer),
      metrics_(metrics),
      impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
  impl_->rewind_records = options_.rewind_records;
  impl_->consumer = &consumer_;
}

KafkaSource::~KafkaSource() {
  close();
}

void KafkaSource::close() {
  stop();
  if (impl_->rk != nullptr) {
    impl_->backlog.clear();
    rd_kafka_consumer_close(impl_->rk);
    rd_kafka_destroy(impl_->rk);
    impl_->rk = nullptr;
  }
}

void KafkaSource::start() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error("kafka source '" + options_.name + "': librdkafka." + k + ": " +
                               err);
    }
  };
  set("group.id", options_.group_id);
  set("auto.offset.reset", "earliest");
  for (const auto& [k, v] : options_.settings)
    set(k, v);
  // At-least-once: only the source decides which offsets are stored.
  set("enable.auto.offset.store", "false");
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_opaque(conf, impl_.get());

  impl_->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (impl_->rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new owns conf only when it succeeds
    throw std::runtime_error("kafka source '" + options_.name + "': " + err);
  }
  rd_kafka_poll_set_consumer(impl_->rk);

  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
  for (const auto& t : options_.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t e = rd_kafka_subscribe(impl_->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) throw std::runtime_error("kafka subscribe: " + std::string(rd_kafka_err2str(e)));

  stop_ = false;
  thread_ = std::thread([this] { poll_loop(); });
  logger("kafka")->info("{}: consumer group '{}' subscribed", options_.name, options_.group_id);
}

void KafkaSource::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void KafkaSource::commit() {
  if (impl_->rk == nullptr) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->store_finished();
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk, nullptr, 0 /* synchronous */);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    logger("kafka")->warn("commit failed: {}", rd_kafka_err2str(err));
  }
}

void KafkaSource::done(const AckToken& token) {
  std::lock_guard lock(impl_->mutex);
  if (token.partition < 0 || static_cast<size_t>(token.partition) >= impl_->tracks.size()) return;
  PartitionTrack& t = impl_->tracks[token.partition];
  if (!t.active) return;
  auto it = std::lower_bound(t.offsets.begin(), t.offsets.end(), token.offset);
  if (it == t.offsets.end() || *it != token.offset) return;
  t.finished[it - t.offsets.begin()] = true;
  finished_.fetch_add(1);
  while (!t.offsets.empty() && t.finished.front()) {
    t.next_to_store = t.offsets.front() + 1;
    t.offsets.pop_front();
    t.finished.pop_front();
  }
}

void KafkaSource::poll_loop() {
  rd_kafka_t* rk = impl_->rk;
  bool paused = false;
  auto set_paused = [&](bool pause) {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned) {
      if (pause) {
        rd_kafka_pause_partitions(rk, assigned);
      } else {
        rd_kafka_resume_partitions(rk, assigned);
      }
      rd_kafka_topic_partition_list_destroy(assigned);
    }
    if (pause != paused) {
      logger("kafka")->debug("{} consumption", pause ? "pausing" : "resuming");
    }
    paused = pause;
  };

  // Parses a message; a good record goes to the backlog's end, a bad one is counted,
  // logged and finished at once (so its offset does not hold the partition back).
  auto take = [&](rd_kafka_message_t* m) {
    consumed_.fetch_add(1);
    const char* topic = rd_kafka_topic_name(m->rkt);
    int32_t slot;
    {
      std::lock_guard lock(impl_->mutex);
      slot = impl_->slot(topic, m->partition);
      PartitionTrack& t = impl_->tracks[slot];
      if (t.offsets.empty() || t.offsets.back() < m->offset) {
        t.offsets.push_back(m->offset);
        t.finished.push_back(false);
      }
    }
    AckToken token{this, slot, m->offset};
    Record record;
    ParseStatus status = impl_->parser.parse_json(
        std::string_view(static_cast<const char*>(m->payload), m->len), record);
    if (!status.ok()) {
      consumer_.rejected(options_.name.c_str(), status.reason);
      logger("kafka")->warn("{} [{}] offset {}: {}: {}", topic, m->partition, m->offset,
                            reject_reason_name(status.reason), status.detail);
      done(token);
      return;
    }
    {
      std::lock_guard lock(impl_->mutex);
      impl_->tracks[slot].entities.insert(record.entity);
    }
    record.source = options_.name.c_str();
    record.ingest_time = std::chrono::steady_clock::now();
    record.ack = token;
    {
      std::lock_guard lock(impl_->mutex);
      auto r = impl_->resume_at.find({topic, m->partition});
      record.replay = r != impl_->resume_at.end() && m->offset < r->second;
    }
    impl_->backlog.push_back(std::move(record));
  };

  while (!stop_.load()) {
    {
      std::lock_guard lock(impl_->mutex);
      impl_->store_finished();
    }

    // Hand over what was parsed, in order. When the queue is full, pause the partitions
    // and wait for room in short slices, polling in between so the consumer keeps its
    // group membership (heartbeats, max.poll.interval.ms, rebalances).
    while (!impl_->backlog.empty() && !stop_.load()) {
      if (consumer_.push_for(impl_->backlog.front(), std::chrono::milliseconds(0))) {
        impl_->backlog.pop_front();
        continue;
      }
      if (!paused) set_paused(true);
      if (consumer_.push_for(impl_->backlog.front(), std::chrono::milliseconds(20))) {
        impl_->backlog.pop_front();
        continue;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 0);
      if (m != nullptr) {
        if (!m->err) take(m);
        rd_kafka_message_destroy(m);
      }
      std::lock_guard lock(impl_->mutex);
      impl_->store_finished();
    }
    if (paused && impl_->backlog.empty()) set_paused(false);

    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, options_.poll_timeout_ms);
    if (m == nullptr) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        logger("kafka")->warn("{}: consumer error: {}", options_.name, rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    take(m);
    rd_kafka_message_destroy(m);

    // Lag from librdkafka's cached watermarks (no broker round trip), every few seconds.
    auto now = std::chrono::steady_clock::now();
    if (metrics_ != nullptr && now - impl_->last_lag_update > std::chrono::seconds(5)) {
      impl_->last_lag_update = now;
      rd_kafka_topic_partition_list_t* assigned = nullptr;
      if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned) {
        rd_kafka_position(rk, assigned);
        for (int i = 0; i < assigned->cnt; ++i) {
          auto& p = assigned->elems[i];
          int64_t low = 0, high = 0;
          if (p.offset >= 0 &&
              rd_kafka_get_watermark_offsets(rk, p.topic, p.partition, &low, &high) == 0) {
            metrics_->set_kafka_lag(p.topic, p.partition, static_cast<double>(high - p.offset));
          }
        }
        rd_kafka_topic_partition_list_destroy(assigned);
      }
    }
  }
}

namespace {

// Starts each newly assigned partition `rewind_records` before its committed offset (not
// before the low watermark) and remembers the committed offset, below which records are
// replays. A partition without a committed offset starts where auto.offset.reset says.
void rewind(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* partitions, KafkaSource::Impl* impl) {
  auto log = logger("kafka");
  rd_kafka_resp_err_t err = rd_kafka_committed(rk, partitions, 10000);
  if (err) {
    log->warn("no committed offsets for the rewind ({}): resuming without it",
              rd_kafka_err2str(err));
    for (int i = 0; i < partitions->cnt; ++i)
      partitions->elems[i].offset = RD_KAFKA_OFFSET_INVALID;  // = the committed offset
    return;
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    auto& p = partitions->elems[i];
    if (p.offset < 0) {
      std::lock_guard lock(impl->mutex);
      impl->resume_at.erase({p.topic, p.partition});
      continue;
    }
    int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(rk, p.topic, p.partition, &low, &high, 10000)) {
      log->warn("{} [{}]: watermarks unknown, resuming at {} without a rewind", p.topic,
                p.partition, p.offset);
      std::lock_guard lock(impl->mutex);
      impl->resume_at.erase({p.topic, p.partition});
      continue;
    }
    const int64_t committed = p.offset;
    p.offset = std::max(low, committed - impl->rewind_records);
    {
      std::lock_guard lock(impl->mutex);
      impl->resume_at[{p.topic, p.partition}] = committed;
    }
    log->info("{} [{}]: committed {}, re-reading from {} to warm the windows", p.topic, p.partition,
              committed, p.offset);
  }
}

void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* impl = static_cast<KafkaSource::Impl*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  auto log = logger("kafka");

  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < partitions->cnt; ++i) {
      log->info("assigned {} [{}]", partitions->elems[i].topic, partitions->elems[i].partition);
    }
    if (impl->rewind_records > 0) rewind(rk, partitions, impl);
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions);
      if (e) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, partitions);
    }
    return;
  }

  // Revoked (or lost): hand over what is finished, forget the rest.
  std::vector<std::string> reset_entities;
  {
    std::lock_guard lock(impl->mutex);
    impl->store_finished();
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk)) {
    rd_kafka_commit(rk, nullptr, 0);
  }
  {
    std::lock_guard lock(impl->mutex);
    for (int i = 0; i < partitions->cnt; ++i) {
      auto it = impl->slot_of.find({partitions->elems[i].topic, partitions->elems[i].partition});
      if (it == impl->slot_of.end()) continue;
      PartitionTrack& t = impl->tracks[it->second];
      if (!t.active) continue;
      t.active = false;
      reset_entities.insert(reset_entities.end(), t.entities.begin(), t.entities.end());
      log->info("revoked {} [{}]: {} records in flight will be re-read by the next owner", t.topic,
                t.partition, t.offsets.size());
      t.offsets.clear();
      t.finished.clear();
    }
  }
  // Drop parsed records of revoked partitions: the next owner reads them.
  {
    std::lock_guard lock(impl->mutex);
    for (auto it = impl->backlog.begin(); it != impl->backlog.end();) {
      if (!impl->tracks[it->ack.partition].active) {
        it = impl->backlog.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (cooperative) {
    rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions);
    if (e) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
  for (auto& entity : reset_entities) {
    Record reset;
    reset.kind = Record::Kind::kResetEntity;
    reset.entity = std::move(entity);
    impl->consumer->push(std::move(reset));
  }
}

}  // namespace

}  // namespace mscred::connectors
