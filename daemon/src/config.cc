#include "mscred/daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace mscred::daemon {

ConfigError::ConfigError(std::string file, int line, int column, std::string key,
                         const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         (key.empty() ? "" : key + ": ") + message),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_(std::move(key)) {}

namespace {

// Walks the YAML tree with the file name at hand, so every error names file, line and key.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    // A key that is absent has no node (and no mark): point at nothing rather than throw.
    YAML::Mark m = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
    // yaml-cpp counts from 0; editors count from 1. A synthesised node has no mark (-1).
    int line = m.line >= 0 ? m.line + 1 : 0;
    int column = m.column >= 0 ? m.column + 1 : 0;
    throw ConfigError(file_, line, column, key, message);
  }

  // Unknown keys are errors: a typo must not silently fall back to a default.
  void check_keys(const YAML::Node& map, const std::string& path,
                  const std::set<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, path, "must be a mapping");
    for (auto it = map.begin(); it != map.end(); ++it) {
      std::string key = it->first.Scalar();
      if (allowed.count(key) == 0) {
        std::string list;
        for (const auto& a : allowed)
          list += (list.empty() ? "" : ", ") + a;
        fail(it->first, join(path, key), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  template <typename T>
  T scalar(const YAML::Node& node, const std::string& key, const char* type_name) const {
    if (!node.IsScalar()) fail(node, key, std::string("must be ") + type_name);
    try {
      return node.as<T>();
    } catch (const YAML::BadConversion&) {
      fail(node, key, std::string("must be ") + type_name + " (got '" + node.Scalar() + "')");
    }
  }

  template <typename T>
  void get(const YAML::Node& map, const std::string& path, const char* key, T& out) const;

  std::string file_;
};

template <>
void Reader::get<std::string>(const YAML::Node& map, const std::string& path, const char* key,
                              std::string& out) const {
  if (auto n = map[key]) out = scalar<std::string>(n, join(path, key), "a string");
}
template <>
void Reader::get<bool>(const YAML::Node& map, const std::string& path, const char* key,
                       bool& out) const {
  if (auto n = map[key]) out = scalar<bool>(n, join(path, key), "true or false");
}
template <>
void Reader::get<int>(const YAML::Node& map, const std::string& path, const char* key,
                      int& out) const {
  if (auto n = map[key]) out = scalar<int>(n, join(path, key), "an integer");
}
template <>
void Reader::get<double>(const YAML::Node& map, const std::string& path, const char* key,
                         double& out) const {
  if (auto n = map[key]) out = scalar<double>(n, join(path, key), "a number");
}
template <>
void Reader::get<int64_t>(const YAML::Node& map, const std::string& path, const char* key,
                          int64_t& out) const {
  if (auto n = map[key]) out = scalar<long long>(n, join(path, key), "an integer");
}
template <>
void Reader::get<size_t>(const YAML::Node& map, const std::string& path, const char* key,
                         size_t& out) const {
  if (auto n = map[key]) {
    long long v = scalar<long long>(n, join(path, key), "a non-negative integer");
    if (v < 0) fail(n, join(path, key), "must be a non-negative integer");
    out = static_cast<size_t>(v);
  }
}

void get_settings(const Reader& r, const YAML::Node& map, const std::string& path, const char* key,
                  Settings& out) {
  auto n = map[key];
  if (!n) return;
  std::string p = Reader::join(path, key);
  if (!n.IsMap()) r.fail(n, p, "must be a mapping of librdkafka properties");
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string k = it->first.Scalar();
    if (!it->second.IsScalar()) r.fail(it->second, p + "." + k, "must be a scalar");
    out[k] = it->second.Scalar();
  }
}

void get_strings(const Reader& r, const YAML::Node& map, const std::string& path, const char* key,
                 std::vector<std::string>& out) {
  auto n = map[key];
  if (!n) return;
  std::string p = Reader::join(path, key);
  if (!n.IsSequence()) r.fail(n, p, "must be a list of strings");
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    out.push_back(r.scalar<std::string>(n[i], p + "[" + std::to_string(i) + "]", "a string"));
  }
}

void require(const Reader& r, bool ok, const YAML::Node& node, const std::string& key,
             const std::string& message) {
  if (!ok) r.fail(node, key, message);
}

// "127.0.0.1:7878", "[::1]:7878" -> host and port.
bool split_listen(const std::string& listen, std::string& host, int& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  std::string h = listen.substr(0, colon);
  if (h.front() == '[') {
    if (h.back() != ']' || h.size() < 3) return false;
    h = h.substr(1, h.size() - 2);
  }
  std::string digits = listen.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  int v = std::stoi(digits);
  if (v > 65535) return false;
  host = h;
  port = v;
  return true;
}

void read_sources(const Reader& r, const YAML::Node& root, Config& c) {
  auto list = root["sources"];
  if (!list) return;
  if (!list.IsSequence()) r.fail(list, "sources", "must be a list");
  c.sources.clear();
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    std::string p = "sources[" + std::to_string(i) + "]";
    if (!n.IsMap()) r.fail(n, p, "must be a mapping");
    SourceConfig s;
    r.get(n, p, "type", s.type);
    if (s.type == "tcp") {
      r.check_keys(
          n, p,
          {"type", "name", "enabled", "listen", "format", "max_line_bytes", "max_connections",
           "reply_errors", "idle_timeout_s", "line_timeout_s", "auth", "tls"});
      std::string listen = s.bind + ":" + std::to_string(s.port);
      r.get(n, p, "listen", listen);
      if (!split_listen(listen, s.bind, s.port)) {
        r.fail(n["listen"], p + ".listen",
               "must be host:port with port 0..65535 (got '" + listen + "')");
      }
      r.get(n, p, "format", s.format);
      r.get(n, p, "max_line_bytes", s.max_line_bytes);
      r.get(n, p, "max_connections", s.max_connections);
      r.get(n, p, "reply_errors", s.reply_errors);
      require(r, s.format == "auto" || s.format == "json" || s.format == "csv", n["format"],
              p + ".format", "must be auto, json or csv");
      require(r, s.max_line_bytes >= 64, n["max_line_bytes"], p + ".max_line_bytes",
              "must be >= 64");
      require(r, s.max_connections >= 1, n["max_connections"], p + ".max_connections",
              "must be >= 1");
      r.get(n, p, "idle_timeout_s", s.idle_timeout_s);
      r.get(n, p, "line_timeout_s", s.line_timeout_s);
      require(r, s.idle_timeout_s >= 0.0, n["idle_timeout_s"], p + ".idle_timeout_s",
              "must be >= 0 (0 = never)");
      require(r, s.line_timeout_s >= 0.0, n["line_timeout_s"], p + ".line_timeout_s",
              "must be >= 0 (0 = no bound)");
      if (auto a = n["auth"]) {
        const std::string ap = p + ".auth";
        r.check_keys(a, ap, {"token_file", "token_env", "token"});
        require(r, !a["token"], a["token"], ap + ".token",
                "a token is not written in the config: use token_file or token_env");
        r.get(a, ap, "token_file", s.auth_token_file);
        r.get(a, ap, "token_env", s.auth_token_env);
        require(r, s.auth_token_file.empty() != s.auth_token_env.empty(), a, ap,
                "exactly one of token_file and token_env is required");
      }
      if (auto t = n["tls"]) {
        const std::string tp = p + ".tls";
        r.check_keys(t, tp, {"cert", "key", "ca", "verify_client"});
        r.get(t, tp, "cert", s.tls_cert);
        r.get(t, tp, "key", s.tls_key);
        r.get(t, tp, "ca", s.tls_ca);
        r.get(t, tp, "verify_client", s.tls_verify_client);
        require(r, !s.tls_cert.empty(), t, tp + ".cert", "is required (PEM certificate chain)");
        require(r, !s.tls_key.empty(), t, tp + ".key", "is required (PEM private key)");
        require(r, !s.tls_verify_client || !s.tls_ca.empty(), t["verify_client"],
                tp + ".verify_client", "needs tls.ca (the CA that signs client certificates)");
      }
    } else if (s.type == "kafka") {
      r.check_keys(
          n, p, {"type", "name", "enabled", "topics", "group_id", "librdkafka", "rewind_records"});
      get_strings(r, n, p, "topics", s.topics);
      r.get(n, p, "group_id", s.group_id);
      r.get(n, p, "rewind_records", s.rewind_records);
      require(r, s.rewind_records >= -1, n["rewind_records"], p + ".rewind_records",
              "must be -1 (auto: one entity's warm-up), 0 (off) or a record count");
      get_settings(r, n, p, "librdkafka", s.librdkafka);
      require(r, !s.topics.empty(), n["topics"] ? n["topics"] : n, p + ".topics",
              "at least one topic is required");
      require(r, !s.group_id.empty(), n, p + ".group_id", "must not be empty");
    } else if (s.type == "file") {
      r.check_keys(n, p, {"type", "name", "enabled", "path", "entity", "speed"});
      r.get(n, p, "path", s.path);
      r.get(n, p, "entity", s.entity);
      r.get(n, p, "speed", s.speed);
      require(r, !s.path.empty(), n, p + ".path", "is required");
      require(r, s.speed >= 0.0, n["speed"], p + ".speed",
              "must be >= 0 (0 = as fast as possible)");
    } else {
      r.fail(n["type"] ? n["type"] : n, p + ".type", "must be tcp, kafka or file");
    }
    s.name = s.type;
    r.get(n, p, "name", s.name);
    r.get(n, p, "enabled", s.enabled);
    require(r, names.insert(s.name).second, n, p + ".name",
            "duplicate source name '" + s.name + "' (give each source a distinct name)");
    c.sources.push_back(std::move(s));
  }
}

void read_models(const Reader& r, const YAML::Node& root, Config& c) {
  auto list = root["models"];
  if (!list) return;
  if (!list.IsSequence()) r.fail(list, "models", "must be a list");
  c.models.clear();
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    std::string p = "models[" + std::to_string(i) + "]";
    r.check_keys(n, p,
                 {"name", "path", "fake", "stream_cache", "stream_cache_mb", "expected_entities",
                  "samples_per_s"});
    ModelConfig m;
    r.get(n, p, "name", m.name);
    r.get(n, p, "path", m.path);
    r.get(n, p, "stream_cache", m.stream_cache);
    r.get(n, p, "stream_cache_mb", m.stream_cache_mb);
    require(r, m.stream_cache_mb >= 1, n["stream_cache_mb"], p + ".stream_cache_mb",
            "must be >= 1 (set stream_cache: false to turn the cache off)");
    r.get(n, p, "expected_entities", m.expected_entities);
    r.get(n, p, "samples_per_s", m.samples_per_s);
    require(r, m.samples_per_s > 0 && std::isfinite(m.samples_per_s), n["samples_per_s"],
            p + ".samples_per_s", "must be a positive number (samples per second per entity)");
    require(r, !m.name.empty(), n, p + ".name", "is required");
    require(r, names.insert(m.name).second, n["name"], p + ".name",
            "duplicate model name '" + m.name + "'");
    if (auto f = n["fake"]) {
      std::string fp = p + ".fake";
      r.check_keys(f, fp, {"sensors", "level", "step_cost_ms"});
      m.fake = true;
      get_strings(r, f, fp, "sensors", m.fake_sensors);
      r.get(f, fp, "level", m.fake_level);
      r.get(f, fp, "step_cost_ms", m.fake_step_cost_ms);
      require(r, m.fake_step_cost_ms >= 0 && m.fake_step_cost_ms <= 10000, f["step_cost_ms"],
              fp + ".step_cost_ms", "must be in [0, 10000]");
      require(r, !m.fake_sensors.empty(), f, fp + ".sensors", "at least one sensor is required");
      require(r, m.path.empty(), n["path"], p + ".path", "a fake model takes no path");
    } else {
      require(r, !m.path.empty(), n, p + ".path", "is required (a checkpoint from mscred train)");
    }
    c.models.push_back(std::move(m));
  }
}

void read_model_dirs(const Reader& r, const YAML::Node& root, Config& c) {
  get_strings(r, root, "", "model_dirs", c.model_dirs);
  for (size_t i = 0; i < c.model_dirs.size(); ++i) {
    const std::string k = "model_dirs[" + std::to_string(i) + "]";
    const YAML::Node node = root["model_dirs"][i];
    require(r, std::filesystem::path(c.model_dirs[i]).is_absolute(), node, k,
            "must be an absolute directory (got '" + c.model_dirs[i] + "')");
  }
  for (size_t i = 0; i < c.models.size(); ++i) {
    const ModelConfig& m = c.models[i];
    if (m.fake) continue;
    std::string resolved;
    if (!model_path_allowed(c.model_dirs, m.path, resolved)) {
      std::string dirs;
      for (const auto& d : c.model_dirs)
        dirs += (dirs.empty() ? "" : ", ") + d;
      r.fail(
          root["models"][i]["path"], "models[" + std::to_string(i) + "].path",
          "'" + m.path + "' (resolved: '" + resolved + "') is outside model_dirs (" + dirs + ")");
    }
  }
}

void read_entities(const Reader& r, const YAML::Node& root, Config& c) {
  auto n = root["entities"];
  if (!n) return;
  const std::string p = "entities";
  r.check_keys(n, p, {"unknown", "default_model", "models", "max_entities"});
  std::string unknown = "reject";
  r.get(n, p, "unknown", unknown);
  if (unknown == "reject") {
    c.entities.unknown = EntitiesConfig::Unknown::kReject;
  } else if (unknown == "default") {
    c.entities.unknown = EntitiesConfig::Unknown::kDefault;
  } else {
    r.fail(n["unknown"], p + ".unknown", "must be reject or default");
  }
  r.get(n, p, "default_model", c.entities.default_model);
  r.get(n, p, "max_entities", c.entities.max_entities);
  if (auto m = n["models"]) {
    if (!m.IsMap()) r.fail(m, p + ".models", "must be a mapping entity: model");
    for (auto it = m.begin(); it != m.end(); ++it) {
      std::string entity = it->first.Scalar();
      c.entities.models[entity] =
          r.scalar<std::string>(it->second, p + ".models." + entity, "a model name");
    }
  }
}

void read_pipeline(const Reader& r, const YAML::Node& root, Config& c) {
  auto n = root["pipeline"];
  if (!n) return;
  const std::string p = "pipeline";
  r.check_keys(n, p,
               {"scales", "step", "history", "missing", "max_ts_jump_s", "future_ts_confirm",
                "max_ts_ahead_s"});
  if (auto s = n["scales"]) {
    if (!s.IsSequence() || s.size() == 0) r.fail(s, p + ".scales", "must be a non-empty list");
    c.pipeline.scales.clear();
    for (size_t i = 0; i < s.size(); ++i) {
      std::string k = p + ".scales[" + std::to_string(i) + "]";
      int v = r.scalar<int>(s[i], k, "an integer");
      require(r, v >= 2, s[i], k, "a window needs at least 2 samples");
      require(r, c.pipeline.scales.empty() || v > c.pipeline.scales.back(), s[i], k,
              "scales must be increasing");
      c.pipeline.scales.push_back(v);
    }
  }
  r.get(n, p, "step", c.pipeline.step);
  r.get(n, p, "history", c.pipeline.history);
  require(r, c.pipeline.step >= 1, n["step"], p + ".step", "must be >= 1");
  require(r, c.pipeline.history >= 1, n["history"], p + ".history", "must be >= 1");
  r.get(n, p, "max_ts_jump_s", c.pipeline.max_ts_jump_s);
  r.get(n, p, "future_ts_confirm", c.pipeline.future_ts_confirm);
  r.get(n, p, "max_ts_ahead_s", c.pipeline.max_ts_ahead_s);
  require(r, c.pipeline.max_ts_jump_s >= 0.0, n["max_ts_jump_s"], p + ".max_ts_jump_s",
          "must be >= 0 (0 = no bound)");
  require(r, c.pipeline.future_ts_confirm >= 0, n["future_ts_confirm"], p + ".future_ts_confirm",
          "must be >= 0 (0 = never accept a jump)");
  require(r, c.pipeline.max_ts_ahead_s >= 0.0, n["max_ts_ahead_s"], p + ".max_ts_ahead_s",
          "must be >= 0 (0 = off)");
  std::string missing = "reject";
  r.get(n, p, "missing", missing);
  if (missing == "reject") {
    c.pipeline.missing = connectors::MissingPolicy::kReject;
  } else if (missing == "hold_last") {
    c.pipeline.missing = connectors::MissingPolicy::kHoldLast;
  } else {
    r.fail(n["missing"], p + ".missing", "must be reject or hold_last");
  }
}

void read_scoring(const Reader& r, const YAML::Node& root, Config& c) {
  auto n = root["scoring"];
  if (!n) return;
  const std::string p = "scoring";
  r.check_keys(n, p, {"theta", "beta", "top_k", "detect_scale"});
  r.get(n, p, "theta", c.scoring.theta);
  r.get(n, p, "beta", c.scoring.beta);
  r.get(n, p, "top_k", c.scoring.top_k);
  r.get(n, p, "detect_scale", c.scoring.detect_scale);
  require(r, c.scoring.theta >= 0.0, n["theta"], p + ".theta", "must be >= 0");
  require(r, c.scoring.beta > 0.0, n["beta"], p + ".beta", "must be > 0");
  require(r, c.scoring.top_k >= 1, n["top_k"], p + ".top_k", "must be >= 1");
  require(r, c.scoring.detect_scale >= 0, n["detect_scale"], p + ".detect_scale", "must be >= 0");
}

void read_worker(const Reader& r, const YAML::Node& root, Config& c) {
  auto n = root["worker"];
  if (!n) return;
  const std::string p = "worker";
  r.check_keys(n, p,
               {"device", "threads", "onednn", "max_batch", "max_wait_ms", "queue_capacity",
                "capacity_check", "capacity_headroom"});
  r.get(n, p, "device", c.worker.device);
  r.get(n, p, "threads", c.worker.threads);
  r.get(n, p, "onednn", c.worker.onednn);
  require(r, c.worker.onednn == "auto" || c.worker.onednn == "on" || c.worker.onednn == "off",
          n["onednn"], p + ".onednn", "must be auto, on or off (got '" + c.worker.onednn + "')");
  r.get(n, p, "max_batch", c.worker.max_batch);
  r.get(n, p, "max_wait_ms", c.worker.max_wait_ms);
  r.get(n, p, "queue_capacity", c.worker.queue_capacity);
  std::string check = "refuse";
  r.get(n, p, "capacity_check", check);
  require(r, check == "refuse" || check == "warn" || check == "off", n["capacity_check"],
          p + ".capacity_check", "must be refuse, warn or off (got '" + check + "')");
  c.worker.capacity_check = check == "refuse" ? WorkerConfig::CapacityCheck::kRefuse
                            : check == "warn" ? WorkerConfig::CapacityCheck::kWarn
                                              : WorkerConfig::CapacityCheck::kOff;
  r.get(n, p, "capacity_headroom", c.worker.capacity_headroom);
  require(r, c.worker.capacity_headroom >= 1.0 && c.worker.capacity_headroom <= 1000.0,
          n["capacity_headroom"], p + ".capacity_headroom", "must be in [1, 1000]");
  const std::string& d = c.worker.device;
  bool cuda = d.rfind("cuda:", 0) == 0 && d.size() > 5 &&
              d.find_first_not_of("0123456789", 5) == std::string::npos;
  require(r, d == "cpu" || d == "auto" || cuda, n["device"], p + ".device",
          "must be cpu, cuda:N or auto (got '" + d + "')");
  require(r, c.worker.threads >= 0, n["threads"], p + ".threads", "must be >= 0");
  require(r, c.worker.max_batch >= 1, n["max_batch"], p + ".max_batch", "must be >= 1");
  require(r, c.worker.max_wait_ms >= 0, n["max_wait_ms"], p + ".max_wait_ms", "must be >= 0");
  require(r, c.worker.queue_capacity >= 1, n["queue_capacity"], p + ".queue_capacity",
          "must be >= 1");
}

void read_sinks(const Reader& r, const YAML::Node& root, Config& c) {
  auto n = root["sinks"];
  if (!n) return;
  const std::string p = "sinks";
  r.check_keys(n, p, {"log", "kafka", "instance"});
  r.get(n, p, "instance", c.sinks.instance);
  if (auto l = n["log"]) {
    r.check_keys(l, p + ".log", {"enabled", "stream"});
    r.get(l, p + ".log", "enabled", c.sinks.log);
    r.get(l, p + ".log", "stream", c.sinks.log_stream);
    require(r, c.sinks.log_stream == "stdout" || c.sinks.log_stream == "stderr", l["stream"],
            p + ".log.stream", "must be stdout or stderr");
  }
  if (auto k = n["kafka"]) {
    r.check_keys(k, p + ".kafka", {"enabled", "topic", "librdkafka"});
    c.sinks.kafka = true;
    r.get(k, p + ".kafka", "enabled", c.sinks.kafka);
    r.get(k, p + ".kafka", "topic", c.sinks.kafka_topic);
    get_settings(r, k, p + ".kafka", "librdkafka", c.sinks.kafka_librdkafka);
    require(r, !c.sinks.kafka_topic.empty(), k, p + ".kafka.topic", "must not be empty");
  }
}

void read_misc(const Reader& r, const YAML::Node& root, Config& c) {
  if (auto n = root["logging"]) {
    r.check_keys(n, "logging", {"level", "format"});
    r.get(n, "logging", "level", c.logging.level);
    r.get(n, "logging", "format", c.logging.format);
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
    require(r, levels.count(c.logging.level) == 1, n["level"], "logging.level",
            "must be trace, debug, info, warn, error or off");
    require(r, c.logging.format == "text" || c.logging.format == "json", n["format"],
            "logging.format", "must be text or json");
  }
  if (auto n = root["metrics"]) {
    r.check_keys(n, "metrics", {"enabled", "listen", "max_entities"});
    r.get(n, "metrics", "enabled", c.metrics.enabled);
    r.get(n, "metrics", "listen", c.metrics.listen);
    r.get(n, "metrics", "max_entities", c.metrics.max_entities);
    require(r, c.metrics.listen.find(':') != std::string::npos, n["listen"], "metrics.listen",
            "must be host:port");
  }
  if (auto n = root["health"]) {
    r.check_keys(n, "health", {"enabled", "listen"});
    r.get(n, "health", "enabled", c.health.enabled);
    r.get(n, "health", "listen", c.health.listen);
    require(r, c.health.listen.find(':') != std::string::npos, n["listen"], "health.listen",
            "must be host:port");
  }
  if (auto n = root["shutdown"]) {
    r.check_keys(n, "shutdown", {"drain_deadline_s"});
    r.get(n, "shutdown", "drain_deadline_s", c.shutdown.drain_deadline_s);
    require(r, c.shutdown.drain_deadline_s > 0.0, n["drain_deadline_s"],
            "shutdown.drain_deadline_s", "must be > 0");
  }
}

// Cross-section rules: every model an entity names exists, scales fit the fake model.
void check_references(const Reader& r, const YAML::Node& root, const Config& c) {
  std::set<std::string> models;
  for (const auto& m : c.models)
    models.insert(m.name);
  if (c.models.empty()) r.fail(root, "models", "at least one model is required");
  for (const auto& [entity, model] : c.entities.models) {
    if (models.count(model) == 0) {
      r.fail(root["entities"]["models"][entity], "entities.models." + entity,
             "no model named '" + model + "' in models");
    }
  }
  if (c.entities.unknown == EntitiesConfig::Unknown::kDefault) {
    auto n = root["entities"];
    if (c.entities.default_model.empty()) {
      r.fail(n, "entities.default_model", "is required when entities.unknown is default");
    }
    if (models.count(c.entities.default_model) == 0) {
      r.fail(n["default_model"], "entities.default_model",
             "no model named '" + c.entities.default_model + "' in models");
    }
  }
  if (static_cast<size_t>(c.scoring.detect_scale) >= c.pipeline.scales.size()) {
    r.fail(root["scoring"]["detect_scale"], "scoring.detect_scale",
           "must index pipeline.scales (0.." + std::to_string(c.pipeline.scales.size() - 1) + ")");
  }
  bool any_enabled = false;
  for (const auto& s : c.sources)
    any_enabled = any_enabled || s.enabled;
  if (!any_enabled) r.fail(root["sources"], "sources", "at least one enabled source is required");
}

}  // namespace

bool model_path_allowed(const std::vector<std::string>& dirs, const std::string& path,
                        std::string& resolved) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) {
    resolved = path;
    return dirs.empty();
  }
  resolved = p.string();
  if (dirs.empty()) return true;
  for (const auto& d : dirs) {
    std::error_code dec;
    fs::path dir = fs::weakly_canonical(fs::path(d), dec);
    if (dec) continue;
    // Component-wise prefix: /models must not admit /models-old/x.
    auto [dir_end, p_end] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
    bool trailing_empty =
        dir_end != dir.end() && dir_end->empty() && std::next(dir_end) == dir.end();
    if ((dir_end == dir.end() || trailing_empty) && p_end != p.end()) return true;
  }
  return false;
}

Config parse_config(const std::string& text, const std::string& file) {
  Reader r(file);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file, e.mark.line + 1, e.mark.column + 1, "", "YAML syntax: " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  r.check_keys(root, "",
               {"sources", "entities", "model_dirs", "models", "pipeline", "scoring", "worker",
                "sinks", "logging", "metrics", "health", "shutdown"});
  Config c;
  c.file = file;
  read_sources(r, root, c);
  read_models(r, root, c);
  read_model_dirs(r, root, c);
  read_entities(r, root, c);
  read_pipeline(r, root, c);
  read_scoring(r, root, c);
  read_worker(r, root, c);
  read_sinks(r, root, c);
  read_misc(r, root, c);
  check_references(r, root, c);
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, 0, "", "cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

const char* default_config_yaml() {
  return R"(# Embedded default of mscredd (see config.example.yaml for every key).
sources:
  - type: tcp
    listen: 127.0.0.1:7878
models:
  - name: default
    path: model.mscred
entities:
  unknown: default
  default_model: default
sinks:
  log:
    enabled: true
    stream: stdout
metrics:
  listen: 127.0.0.1:9464
)";
}

}  // namespace mscred::daemon
