#pragma once
// The seam between sources and the daemon.

#include <chrono>

#include "mscred/connectors/record.h"

namespace mscred::connectors {

//! Where sources put records. push() may block while the daemon's queue is full (that is
//! the back-pressure policy: sources slow down, nothing is dropped); it returns false only
//! when the daemon is shutting down and the record was not taken. Thread-safe.
class RecordConsumer {
 public:
  virtual ~RecordConsumer() = default;
  virtual bool push(Record&& record) = 0;
  //! Waits at most `timeout` for room (0 = not at all); false, with `record` untouched,
  //! when the queue stayed full or is closed.
  virtual bool push_for(Record& record, std::chrono::milliseconds timeout) = 0;
  //! A record rejected by the source's parser (counted as `reason` for `source`).
  virtual void rejected(const char* source, RejectReason reason) = 0;
};

//! A source of records with its own thread(s). start() returns once it accepts input;
//! stop() stops intake and joins its threads (idempotent). Records already pushed stay
//! with the consumer.
class Source {
 public:
  virtual ~Source() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual const char* name() const = 0;
  //! Called after the worker has drained, before stop(): commit what was processed.
  virtual void commit() {}
  //! Called last: releases connections (a Kafka consumer leaves its group). Idempotent.
  virtual void close() {}
};

}  // namespace mscred::connectors
