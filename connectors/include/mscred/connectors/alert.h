#pragma once
// An alert as the sinks see it, and its JSON form.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mscred/connectors/record.h"

namespace mscred::connectors {

struct SensorContribution {
  std::string sensor;
  int count = 0;               // residual cells above theta in the sensor's row/column
  double residual_mass = 0.0;  // sum of those residuals
};

struct PairContribution {
  std::string a;
  std::string b;
  double residual = 0.0;
};

//! One anomalous step of one entity. Built by the worker thread; sinks copy what they keep.
struct Alert {
  std::string entity;
  double step_ts = 0.0;            // ts of the newest sample of the step
  std::string severity;            // short | medium | long
  std::vector<int> scales;         // window lengths, e.g. 10 30 60
  std::vector<double> scores;      // per scale
  std::vector<double> thresholds;  // per scale
  std::vector<SensorContribution> top_sensors;
  std::vector<PairContribution> top_pairs;
  std::string model_id;
  std::string instance;  // daemon instance (host name unless configured)
  std::chrono::steady_clock::time_point ingest_time{};  // newest sample's arrival
};

//! The alert as one line of JSON (no newline). Shape, chosen to route like Alertmanager:
//! {"labels": {"alertname","entity","severity","model","instance"},
//!  "annotations": {"summary","step_ts","scores":{"10":..},"thresholds":{..},
//!                  "top_sensors":[{"sensor","count","residual_mass"}],
//!                  "top_pairs":[{"a","b","residual"}]},
//!  "ts": step_ts}
std::string alert_to_json(const Alert& alert);

//! Receives alerts from the worker thread. publish() must not block for long (queue
//! internally); flush() waits up to `timeout` for everything published to be delivered
//! and returns false if something was not.
//! The records behind one alert. They are acknowledged (Kafka stores their offsets) when the
//! last reference to the group goes, i.e. when every sink has delivered the alert, unless a
//! sink marked the delivery failed: then never, so after a restart the records are read and
//! scored again and the alert is produced again (at-least-once, never lost). Thread-safe:
//! the last reference may go on a sink's delivery thread.
class DeliveryGroup {
 public:
  explicit DeliveryGroup(std::vector<AckToken> acks) : acks_(std::move(acks)) {}
  ~DeliveryGroup() {
    if (failed_.load()) return;
    for (const auto& t : acks_)
      ack(t);
  }
  DeliveryGroup(const DeliveryGroup&) = delete;
  DeliveryGroup& operator=(const DeliveryGroup&) = delete;
  void fail() { failed_.store(true); }
  bool failed() const { return failed_.load(); }

 private:
  std::vector<AckToken> acks_;
  std::atomic<bool> failed_{false};
};
using DeliveryRef = std::shared_ptr<DeliveryGroup>;

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void publish(const Alert& alert) = 0;
  //! Publishes and holds `delivery` until the alert is durably handed on. The default is for
  //! synchronous sinks: delivered once publish() returns. The Kafka sink holds it until the
  //! broker's delivery report and fails it when the alert cannot be delivered.
  virtual void publish_tracked(const Alert& alert, DeliveryRef delivery) {
    publish(alert);
    delivery.reset();
  }
  virtual bool flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace mscred::connectors
