#pragma once
// The daemon's YAML configuration: one file, every key documented in config.example.yaml.

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "mscred/connectors/record.h"

namespace mscred::daemon {

//! A configuration problem, with the file, 1-based line and column, and the dotted key
//! (`worker.max_batch`, `sources[1].port`). what() reads "file:line:column: key: message".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, int column, std::string key, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string key_;
};

using Settings = std::map<std::string, std::string>;  // librdkafka pass-through

struct SourceConfig {
  std::string type;  // tcp | kafka | file
  std::string name;  // `source` label of the metrics; defaults to the type
  bool enabled = true;
  // tcp (from `listen: host:port`)
  std::string bind = "127.0.0.1";
  int port = 7878;
  std::string format = "auto";  // auto | json | csv
  size_t max_line_bytes = 65536;
  size_t max_connections = 256;
  bool reply_errors = true;
  double idle_timeout_s = 300.0;  // 0 = never
  double line_timeout_s = 60.0;   // 0 = no bound
  // auth: the shared token is read at start-up from a file or an environment variable
  // (never written in the YAML); both empty = no token check.
  std::string auth_token_file;
  std::string auth_token_env;
  // tls: on when tls_cert is set.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  bool tls_verify_client = false;
  // kafka
  std::vector<std::string> topics;
  std::string group_id = "mscredd";
  Settings librdkafka;
  //! Records to re-read before each partition's committed offset after an assignment, so
  //! windows are warm at the first unfinished record. -1 (default) = the warm-up of one
  //! entity, max(scales) + (history - 1) * step; use warm-up x entities per partition when
  //! partitions carry several entities. 0 = off.
  int64_t rewind_records = -1;
  // file
  std::string path;
  std::string entity;
  double speed = 0.0;
};

//! A model served by the daemon. `path` is a checkpoint (model::Detector). `fake` selects
//! the built-in deterministic test scorer instead (tests and demos without a trained
//! model): it flags a step when a sensor exceeds `fake_level`, and spends
//! `fake_step_cost_ms` per window (to exercise the capacity check).
//! `expected_entities` x `samples_per_s` is the load the model must keep up with (the
//! capacity check, worker.capacity_check); 0 entities = no load declared, not checked.
struct ModelConfig {
  std::string name;
  std::string path;
  bool fake = false;
  std::vector<std::string> fake_sensors;
  double fake_level = 3.0;
  //! Per-entity cache of the ConvLSTM input gates of the last h-1 steps (docs/model.md):
  //! about half the work per step. Bounded to `stream_cache_mb` MiB (n = 38: 5.5 MiB per
  //! entity); the least recently scored entities are dropped and computed in full again.
  bool stream_cache = true;
  size_t stream_cache_mb = 1024;
  double fake_step_cost_ms = 0.0;
  size_t expected_entities = 0;
  double samples_per_s = 1.0;  // per entity
};

struct EntitiesConfig {
  enum class Unknown { kReject, kDefault } unknown = Unknown::kReject;
  std::string default_model;                  // required when unknown = default
  std::map<std::string, std::string> models;  // entity -> model name
  size_t max_entities = 100000;  // streaming states kept; beyond: rejected as unknown_entity
};

struct PipelineConfig {
  std::vector<int> scales{10, 30, 60};  // window lengths, in samples
  int step = 10;                        // samples between signature matrices
  int history = 5;                      // h: steps per model input
  connectors::MissingPolicy missing = connectors::MissingPolicy::kReject;
  //! A ts more than this beyond the entity's last accepted ts is rejected (future_ts) and
  //! does not move its clock; 0 = no bound. In the unit of ts (seconds for Unix time).
  double max_ts_jump_s = 86400.0;
  //! This many consecutive in-order records beyond the bound make the jump real (a
  //! producer back after a long outage): the last of them is accepted and the entity's
  //! windows warm up again. 0 = never accept a jump.
  int future_ts_confirm = 3;
  //! For ts in Unix seconds: a ts more than this ahead of the daemon's wall clock is
  //! rejected (future_ts), the first record of an entity too; 0 = off (the default, since
  //! ts may be a sample index or another clock).
  double max_ts_ahead_s = 0.0;
};

struct ScoringConfig {
  double theta = 0.005;  // residual cell threshold
  double beta = 1.5;     // threshold = beta * max validation score
  int top_k = 3;         // sensors and pairs named in an alert
  int detect_scale = 0;  // index into scales used for detection
};

struct WorkerConfig {
  std::string device = "auto";    // cpu | cuda:N | auto
  int threads = 0;                // intra-op threads, 0 = library default
  std::string onednn = "auto";    // auto | on | off: oneDNN CPU convolutions (auto: >= 2 threads)
  size_t max_batch = 64;          // steps per inference batch
  int max_wait_ms = 5;            // longest a ready step waits for a batch to fill
  size_t queue_capacity = 65536;  // records between the sources and the worker
  //! At start-up and reload, a model whose measured steps/s (score() at max_batch) is
  //! below its declared load x capacity_headroom is refused, warned about, or not checked.
  enum class CapacityCheck { kRefuse, kWarn, kOff } capacity_check = CapacityCheck::kRefuse;
  double capacity_headroom = 1.5;
};

struct SinksConfig {
  bool log = true;
  std::string log_stream = "stdout";  // stdout | stderr
  bool kafka = false;
  std::string kafka_topic = "mscred-alerts";
  Settings kafka_librdkafka;
  std::string instance;  // empty = host name
};

struct LoggingConfig {
  std::string level = "info";   // trace | debug | info | warn | error | off
  std::string format = "text";  // text | json
};

struct MetricsConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:9464";
  size_t max_entities = 1000;  // entities with mscred_score / mscred_threshold series
};

struct HealthConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:9465";
};

struct ShutdownConfig {
  double drain_deadline_s = 20.0;
};

struct Config {
  std::string file;  // where it came from (for messages)
  std::vector<SourceConfig> sources;
  EntitiesConfig entities;
  //! Directories checkpoints may be loaded from (absolute, symlinks resolved at load);
  //! empty = any path (a warning at start-up). See model_path_allowed().
  std::vector<std::string> model_dirs;
  std::vector<ModelConfig> models;
  PipelineConfig pipeline;
  ScoringConfig scoring;
  WorkerConfig worker;
  SinksConfig sinks;
  LoggingConfig logging;
  MetricsConfig metrics;
  HealthConfig health;
  ShutdownConfig shutdown;
};

//! Whether checkpoint `path` lies inside one of `dirs` once symlinks and `..` are resolved
//! (std::filesystem::weakly_canonical, so a path that does not exist yet is judged by its
//! existing parent); `resolved` gets the resolved path. True when `dirs` is empty. Called
//! by the config check and again right before every (re)load, so a symlink swapped in
//! later is caught too.
bool model_path_allowed(const std::vector<std::string>& dirs, const std::string& path,
                        std::string& resolved);

//! Reads and validates `path`. Throws ConfigError (also for an unreadable file or bad
//! YAML, with line 0 when there is no position).
Config load_config(const std::string& path);
//! Same, from text; `file` names it in errors.
Config parse_config(const std::string& text, const std::string& file);
//! The built-in configuration used when mscredd gets no --config (the README demo): TCP
//! on 127.0.0.1:7878, JSON alert lines on stdout, metrics on 127.0.0.1:9464.
const char* default_config_yaml();

}  // namespace mscred::daemon
