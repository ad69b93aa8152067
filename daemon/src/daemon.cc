#include "mscred/daemon/daemon.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "mscred/connectors/file_source.h"
#include "mscred/connectors/kafka_source.h"
#include "mscred/connectors/log.h"
#include "mscred/connectors/sinks.h"
#include "mscred/connectors/tcp_source.h"
#include "mscred/daemon/health_server.h"
#include "mscred/daemon/sd_notify.h"

namespace mscred::daemon {

using Clock = std::chrono::steady_clock;

void configure_logging(const LoggingConfig& logging) {
  spdlog::set_level(spdlog::level::from_str(logging.level));
  if (logging.format == "json") {
    // Messages are not JSON-escaped by spdlog; ours contain no raw quotes in practice,
    // but a record's entity name could. TODO: a JSON formatter that escapes %v.
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%v"})");
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
}

namespace {
// The shared token of a TCP source, from its file (first line) or environment variable.
std::string read_token(const SourceConfig& source) {
  std::string token;
  std::string where;
  if (!source.auth_token_file.empty()) {
    where = "token_file '" + source.auth_token_file + "'";
    std::ifstream in(source.auth_token_file);
    if (!in) throw std::runtime_error(source.name + ": auth: cannot read " + where);
    std::getline(in, token);
  } else if (!source.auth_token_env.empty()) {
    where = "token_env " + source.auth_token_env;
    const char* v = std::getenv(source.auth_token_env.c_str());
    if (v == nullptr) throw std::runtime_error(source.name + ": auth: " + where + " is not set");
    token = v;
  } else {
    return "";
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.empty()) throw std::runtime_error(source.name + ": auth: " + where + " is empty");
  return token;
}
}  // namespace

Daemon::Daemon(Config config, std::vector<connectors::AlertSink*> extra_sinks)
    : config_(std::move(config)), extra_sinks_(std::move(extra_sinks)) {}

Daemon::~Daemon() {
  if (started_ && !shut_down_) shutdown();
  // A sink may still acknowledge records from its delivery thread (a late Kafka delivery
  // report): sinks go before the sources those acknowledgements reach.
  worker_.reset();
  sinks_.clear();
  sources_.clear();
}

void Daemon::start() {
  auto log = connectors::logger("daemon");
  if (config_.model_dirs.empty()) {
    for (const auto& m : config_.models) {
      if (m.fake) continue;
      log->warn(
          "model_dirs is not set: checkpoints may be loaded from any path (set it to "
          "the directories that hold them)");
      break;
    }
  }
  metrics_ = std::make_unique<connectors::Metrics>(config_.metrics.max_entities);
  if (config_.metrics.enabled) {
    // Served by the same Beast server as health (its own port); /healthz answers there too.
    HealthServerOptions options = HealthServerOptions::from_listen(config_.metrics.listen);
    connectors::Metrics* metrics = metrics_.get();
    options.routes.push_back({"/metrics", "text/plain; version=0.0.4; charset=utf-8",
                              [metrics] { return metrics->scrape(); }});
    metrics_server_ = std::make_unique<HealthServer>(std::move(options));
    log->info("metrics on http://{}/metrics (port {})", config_.metrics.listen,
              metrics_server_->port());
  }
  if (config_.health.enabled) {
    // Up first, answering 503 on /readyz until models are loaded and sources listen.
    health_ =
        std::make_unique<HealthServer>(HealthServerOptions::from_listen(config_.health.listen));
    health_->set_ready(false, "loading models and starting sources");
    log->info("health on http://{}/healthz and /readyz", health_->endpoint());
  }

  std::vector<connectors::AlertSink*> sinks = extra_sinks_;
  if (config_.sinks.log) {
    sinks_.push_back(std::make_unique<connectors::LogSink>(
        config_.sinks.log_stream == "stderr" ? stderr : stdout));
  }
  if (config_.sinks.kafka) {
    sinks_.push_back(std::make_unique<connectors::KafkaSink>(config_.sinks.kafka_topic,
                                                             config_.sinks.kafka_librdkafka));
  }
  for (auto& s : sinks_)
    sinks.push_back(s.get());

  queue_ = std::make_unique<RecordQueue>(config_.worker.queue_capacity);
  metrics_->set_queue(0, queue_->capacity());
  ingest_ = std::make_unique<QueueIngest>(*queue_, metrics_.get());
  worker_ = std::make_unique<Worker>(config_, *queue_, sinks, metrics_.get());
  worker_->start();

  for (const auto& sc : config_.sources) {
    if (!sc.enabled) continue;
    if (sc.type == "tcp") {
      connectors::TcpSourceOptions o;
      o.name = sc.name;
      o.bind = sc.bind;
      o.port = static_cast<uint16_t>(sc.port);
      o.format = sc.format == "json"  ? connectors::TcpSourceOptions::Format::kJson
                 : sc.format == "csv" ? connectors::TcpSourceOptions::Format::kCsv
                                      : connectors::TcpSourceOptions::Format::kAuto;
      o.max_line_bytes = sc.max_line_bytes;
      o.max_connections = sc.max_connections;
      o.reply_errors = sc.reply_errors;
      o.idle_timeout_s = sc.idle_timeout_s;
      o.line_timeout_s = sc.line_timeout_s;
      o.auth_token = read_token(sc);
      o.tls.cert_file = sc.tls_cert;
      o.tls.key_file = sc.tls_key;
      o.tls.ca_file = sc.tls_ca;
      o.tls.verify_client = sc.tls_verify_client;
      sources_.push_back(std::make_unique<connectors::TcpSource>(o, *ingest_));
    } else if (sc.type == "kafka") {
      connectors::KafkaSourceOptions o;
      o.name = sc.name;
      o.topics = sc.topics;
      o.group_id = sc.group_id;
      o.settings = sc.librdkafka;
      o.rewind_records = sc.rewind_records;
      if (o.rewind_records < 0) {
        const auto& pc = config_.pipeline;
        const int largest =
            pc.scales.empty() ? 0 : *std::max_element(pc.scales.begin(), pc.scales.end());
        o.rewind_records = largest + (pc.history - 1) * pc.step;
      }
      sources_.push_back(std::make_unique<connectors::KafkaSource>(o, *ingest_, metrics_.get()));
    } else {
      connectors::FileSourceOptions o;
      o.name = sc.name;
      o.path = sc.path;
      o.entity = sc.entity;
      o.speed = sc.speed;
      sources_.push_back(std::make_unique<connectors::FileSource>(o, *ingest_));
    }
    sources_.back()->start();
  }
  started_ = true;
  metrics_->set_ready(true);
  if (health_) health_->set_ready(true);
  if (metrics_server_) metrics_server_->set_ready(true);
  auto notified = notify_ready("serving " + std::to_string(sources_.size()) + " sources");
  if (!notified.ok()) log->warn("sd_notify READY failed: {}", notified.error);
  log->info("mscredd ready: {} sources, {} models", sources_.size(), config_.models.size());
}

bool Daemon::shutdown() {
  if (shut_down_ || !started_) return true;
  shut_down_ = true;
  auto log = connectors::logger("daemon");
  auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(config_.shutdown.drain_deadline_s));
  metrics_->set_ready(false);
  if (health_) health_->set_ready(false, "shutting down");
  if (metrics_server_) metrics_server_->set_ready(false, "shutting down");
  notify_stopping("draining");
  // Ask systemd for the drain time on top of its stop timeout, should it be shorter.
  notify_extend_timeout(
      std::chrono::microseconds(static_cast<int64_t>(config_.shutdown.drain_deadline_s * 1e6)));
  log->info("shutting down: stopping intake");
  for (auto& s : sources_)
    s->stop();
  log->info("draining {} queued records", queue_->size());
  bool ok = worker_->drain(deadline);
  for (auto& s : sources_) {
    s->commit();
    s->close();  // a Kafka consumer leaves its group only after the commit
  }
  // One summary line (also read by the SIGTERM integration test).
  log->info("shutdown {}: {} samples processed, {} steps scored, {} alerts",
            ok ? "complete" : "past the deadline", worker_->stats().records.load(),
            worker_->stats().steps_scored.load(), worker_->stats().alerts.load());
  return ok;
}

int Daemon::metrics_port() const {
  return metrics_server_ ? metrics_server_->port() : 0;
}

int Daemon::health_port() const {
  return health_ ? health_->port() : 0;
}

bool Daemon::files_done() const {
  if (sources_.empty()) return false;
  for (const auto& s : sources_) {
    auto* f = dynamic_cast<connectors::FileSource*>(s.get());
    if (f == nullptr || !f->finished()) return false;
  }
  return true;
}

uint16_t Daemon::tcp_port(const std::string& source_name) const {
  auto* s = dynamic_cast<connectors::TcpSource*>(source(source_name));
  return s == nullptr ? 0 : s->port();
}

connectors::Source* Daemon::source(const std::string& name) const {
  for (const auto& s : sources_) {
    if (name == s->name()) return s.get();
  }
  return nullptr;
}

}  // namespace mscred::daemon
