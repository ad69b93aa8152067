#pragma once
// Alert sinks: JSON log lines and a Kafka producer.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "mscred/connectors/alert.h"

namespace mscred::connectors {

//! Writes each alert as one JSON line to a stdio stream (stdout by default) and flushes
//! it, so a log shipper sees it at once. Owns nothing but a mutex; publish() may be called
//! from any thread and blocks only on the stream write.
class LogSink : public AlertSink {
 public:
  explicit LogSink(std::FILE* stream = stdout) : stream_(stream) {}
  void publish(const Alert& alert) override;
  bool flush(std::chrono::milliseconds timeout) override;

 private:
  std::FILE* stream_;
  std::mutex mutex_;
};

//! Keeps alerts in memory (tests, and `mscred replay --alerts-json`). Thread-safe.
class MemorySink : public AlertSink {
 public:
  void publish(const Alert& alert) override;
  bool flush(std::chrono::milliseconds) override { return true; }
  std::vector<Alert> alerts() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Alert> alerts_;
};

//! Idempotent Kafka producer of alerts to one topic, keyed by entity. Owns the librdkafka
//! producer and a thread that serves its delivery reports. publish() never blocks: when
//! librdkafka's local queue is full it polls and retries for up to 1 s, then counts the
//! alert as failed and logs it. Thread-safe.
class KafkaSink : public AlertSink {
 public:
  //! `settings` pass through to librdkafka unchanged (bootstrap.servers, security, ...);
  //! enable.idempotence is forced on. Throws std::runtime_error on a bad setting.
  KafkaSink(const std::string& topic, const std::map<std::string, std::string>& settings);
  ~KafkaSink() override;
  void publish(const Alert& alert) override;
  //! Holds `delivery` until the broker acknowledged the alert (delivery report); an alert
  //! that cannot be produced or delivered fails it, so its records are never acknowledged.
  void publish_tracked(const Alert& alert, DeliveryRef delivery) override;
  bool flush(std::chrono::milliseconds timeout) override;
  uint64_t delivered() const { return delivered_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace mscred::connectors
