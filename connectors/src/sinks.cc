#include "mscred/connectors/sinks.h"

#include <librdkafka/rdkafka.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "mscred/connectors/log.h"

namespace mscred::connectors {

namespace {

std::string scale_key(int scale) {
  return std::to_string(scale);
}

}  // namespace

std::string alert_to_json(const Alert& alert) {
  nlohmann::json scores = nlohmann::json::object();
  nlohmann::json thresholds = nlohmann::json::object();
  for (size_t i = 0; i < alert.scales.size(); ++i) {
    if (i < alert.scores.size()) scores[scale_key(alert.scales[i])] = alert.scores[i];
    if (i < alert.thresholds.size()) {
      thresholds[scale_key(alert.scales[i])] = alert.thresholds[i];
    }
  }
  nlohmann::json sensors = nlohmann::json::array();
  std::string summary_sensors;
  for (const auto& s : alert.top_sensors) {
    sensors.push_back(
        {{"sensor", s.sensor}, {"count", s.count}, {"residual_mass", s.residual_mass}});
    if (!summary_sensors.empty()) summary_sensors += ", ";
    summary_sensors += s.sensor;
  }
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& p : alert.top_pairs) {
    pairs.push_back({{"a", p.a}, {"b", p.b}, {"residual", p.residual}});
  }
  nlohmann::json j = {
      {"labels",
       {{"alertname", "MscredAnomaly"},
        {"entity", alert.entity},
        {"severity", alert.severity},
        {"model", alert.model_id},
        {"instance", alert.instance}}},
      {"annotations",
       {{"summary", alert.severity + " anomaly on " + alert.entity +
                        (summary_sensors.empty() ? "" : " (sensors: " + summary_sensors + ")")},
        {"step_ts", alert.step_ts},
        {"scores", scores},
        {"thresholds", thresholds},
        {"top_sensors", sensors},
        {"top_pairs", pairs}}},
      {"ts", alert.step_ts}};
  // Non-UTF-8 entity names were rejected by the parser; replace anything odd anyway
  // rather than throw on the worker thread.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void LogSink::publish(const Alert& alert) {
  std::string line = alert_to_json(alert);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), stream_);
  std::fflush(stream_);
}

bool LogSink::flush(std::chrono::milliseconds) {
  std::lock_guard lock(mutex_);
  return std::fflush(stream_) == 0;
}

void MemorySink::publish(const Alert& alert) {
  std::lock_guard lock(mutex_);
  alerts_.push_back(alert);
}

std::vector<Alert> MemorySink::alerts() const {
  std::lock_guard lock(mutex_);
  return alerts_;
}

namespace {
struct DeliveryCounters {
  std::atomic<uint64_t>* delivered;
  std::atomic<uint64_t>* failed;
};

void delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* counters = static_cast<DeliveryCounters*>(opaque);
  // A tracked alert carries its DeliveryGroup; dropping the reference acknowledges the
  // records behind it once every sink is done, unless the delivery failed.
  std::unique_ptr<DeliveryRef> delivery(static_cast<DeliveryRef*>(message->_private));
  if (message->err && delivery != nullptr) (*delivery)->fail();
  if (message->err) {
    counters->failed->fetch_add(1);
    logger("sinks")->error("alert to Kafka not delivered: {}", rd_kafka_err2str(message->err));
  } else {
    counters->delivered->fetch_add(1);
  }
}
}  // namespace

struct KafkaSink::Impl {
  rd_kafka_t* producer = nullptr;
  std::string topic;
  std::atomic<bool> stop{false};
  std::thread poller;
  DeliveryCounters counters{};
};

KafkaSink::KafkaSink(const std::string& topic, const std::map<std::string, std::string>& settings)
    : impl_(std::make_unique<Impl>()) {
  impl_->topic = topic;
  impl_->counters = {&delivered_, &failed_};
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error("sinks.kafka.librdkafka." + k + ": " + err);
    }
  };
  for (const auto& [k, v] : settings)
    set(k, v);
  set("enable.idempotence", "true");
  rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
  rd_kafka_conf_set_opaque(conf, &impl_->counters);
  impl_->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (impl_->producer == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new owns conf only when it succeeds
    throw std::runtime_error(std::string("kafka producer: ") + err);
  }
  impl_->poller = std::thread([impl = impl_.get()] {
    while (!impl->stop.load())
      rd_kafka_poll(impl->producer, 100);
  });
}

KafkaSink::~KafkaSink() {
  flush(std::chrono::milliseconds(5000));
  impl_->stop = true;
  if (impl_->poller.joinable()) impl_->poller.join();
  rd_kafka_destroy(impl_->producer);
}

void KafkaSink::publish(const Alert& alert) {
  publish_tracked(alert, nullptr);
}

void KafkaSink::publish_tracked(const Alert& alert, DeliveryRef delivery) {
  std::string payload = alert_to_json(alert);
  // Owned by librdkafka's message from a successful producev until its delivery report.
  auto holder = delivery != nullptr ? std::make_unique<DeliveryRef>(std::move(delivery)) : nullptr;
  for (int attempt = 0; attempt < 10; ++attempt) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->producer, RD_KAFKA_V_TOPIC(impl_->topic.c_str()),
        RD_KAFKA_V_KEY(alert.entity.data(), alert.entity.size()),
        RD_KAFKA_V_VALUE(payload.data(), payload.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(holder.get()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      holder.release();  // the delivery report deletes it
      return;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      logger("sinks")->error("alert for '{}' not produced: {}", alert.entity,
                             rd_kafka_err2str(err));
      break;
    }
    rd_kafka_poll(impl_->producer, 100);
  }
  failed_.fetch_add(1);
  if (holder != nullptr) (*holder)->fail();  // its records stay unacknowledged
}

bool KafkaSink::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(impl_->producer, static_cast<int>(timeout.count())) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
}

}  // namespace mscred::connectors
