#pragma once
// The daemon's wiring: metrics, sinks, worker and sources built from a Config.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mscred/connectors/alert.h"
#include "mscred/connectors/metrics.h"
#include "mscred/connectors/source.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/worker.h"

namespace mscred::daemon {

class HealthServer;

//! Applies `logging` to spdlog (level, text or JSON lines). Call before start().
void configure_logging(const LoggingConfig& logging);

//! Owns everything the daemon runs: the metrics registry and its HTTP server, the sinks, the
//! queue, the worker and the sources. start() and shutdown() are called from one thread
//! (main); shutdown() blocks until done or past shutdown.drain_deadline_s.
class Daemon {
 public:
  //! `extra_sinks` (not owned) receive alerts besides the configured ones (tests, replay).
  explicit Daemon(Config config, std::vector<connectors::AlertSink*> extra_sinks = {});
  ~Daemon();

  //! Exposer, sinks, worker (loads models), then sources. Throws std::runtime_error on
  //! failure (a port in use, a model that does not load, a bad librdkafka setting).
  void start();
  //! SIGTERM path: stop intake, drain the queue, score pending steps, flush the sinks,
  //! commit offsets, close. True if all of it finished before the deadline.
  bool shutdown();
  //! SIGHUP path: reload models at the worker's next turn.
  void reload() { worker_->request_reload(); }
  //! True when every source is a file source that has read its whole file.
  bool files_done() const;

  // For tests and logs.
  uint16_t tcp_port(const std::string& source_name) const;
  //! Port of /metrics, 0 when metrics are disabled.
  int metrics_port() const;
  //! Port of /healthz and /readyz, 0 when health is disabled.
  int health_port() const;
  connectors::Metrics& metrics() { return *metrics_; }
  Worker& worker() { return *worker_; }
  QueueIngest& ingest() { return *ingest_; }
  connectors::Source* source(const std::string& name) const;
  const Config& config() const { return config_; }

 private:
  Config config_;
  std::vector<connectors::AlertSink*> extra_sinks_;
  std::unique_ptr<connectors::Metrics> metrics_;
  std::unique_ptr<HealthServer> metrics_server_;  // /metrics (and /healthz, /readyz)
  std::unique_ptr<HealthServer> health_;
  std::vector<std::unique_ptr<connectors::AlertSink>> sinks_;
  std::unique_ptr<RecordQueue> queue_;
  std::unique_ptr<QueueIngest> ingest_;
  std::unique_ptr<Worker> worker_;
  std::vector<std::unique_ptr<connectors::Source>> sources_;
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace mscred::daemon
