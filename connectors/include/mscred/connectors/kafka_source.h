#pragma once
// Kafka ingest: a consumer group over configured topics, at-least-once.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mscred/connectors/source.h"

namespace mscred::connectors {

class Metrics;

struct KafkaSourceOptions {
  std::string name = "kafka";
  std::vector<std::string> topics;
  std::string group_id = "mscredd";
  //! Passed to librdkafka unchanged (bootstrap.servers, security.*, session.timeout.ms,
  //! ...). enable.auto.offset.store is forced to false: offsets are stored by the source
  //! only for records the worker has finished (see AckTarget).
  std::map<std::string, std::string> settings;
  int poll_timeout_ms = 100;
  //! On assignment, start this many records before each partition's committed offset, so
  //! the entities' windows are warm again when the first unfinished record arrives (no
  //! step is left unscored by a restart). The re-read records carry Record::replay; offsets
  //! below the committed one are never stored again. 0 = resume at the committed offset.
  int64_t rewind_records = 0;
};

//! Owns the librdkafka consumer and its poll thread. Records carry an AckToken; the
//! worker calls done() once the step a record fed was scored and its alert delivered by
//! every sink (or the record was rejected). Per partition the source stores the offset after
//! the longest finished prefix, so a restart resumes at the first unfinished record:
//! nothing is skipped, and a record can be seen twice only if it was not finished (e.g. it
//! sat in a partial step, or a rebalance moved its partition while it was in flight).
//!
//! Back-pressure: when the daemon's queue is full the source pauses its partitions and
//! keeps polling (so it stays in the group) until the queue takes the record.
//!
//! Rebalance: on revoke the source stores and synchronously commits what is finished,
//! forgets the partition's in-flight records (they will be re-read by the next owner)
//! and sends a reset for every entity it saw on the partition, so an entity that comes
//! back later warms its windows from scratch before it can alert.
class KafkaSource : public Source, public AckTarget {
 public:
  KafkaSource(KafkaSourceOptions options, RecordConsumer& consumer, Metrics* metrics = nullptr);
  ~KafkaSource() override;
  //! Creates the consumer and subscribes; throws std::runtime_error on bad settings.
  void start() override;
  //! Stops polling (intake); the consumer stays open so commit() can run after the drain.
  void stop() override;
  //! Stores finished offsets and commits them synchronously.
  void commit() override;
  //! Closes the consumer (leaves the group; librdkafka commits stored offsets once more).
  void close() override;
  const char* name() const override { return options_.name.c_str(); }
  void done(const AckToken& token) override;

  //! Records consumed (all, including rejected) and finished, for tests and logs.
  uint64_t consumed() const { return consumed_.load(); }
  uint64_t finished() const { return finished_.load(); }

  struct Impl;

 private:
  void poll_loop();

  KafkaSourceOptions options_;
  RecordConsumer& consumer_;
  Metrics* metrics_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> consumed_{0};
  std::atomic<uint64_t> finished_{0};
};

}  // namespace mscred::connectors
