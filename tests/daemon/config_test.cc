// Config loader: a good file loads; every error names file, line and key.
#include <gtest/gtest.h>

#include <fstream>

#include "mscred/daemon/config.h"

namespace mscred::daemon {
namespace {

const char* kMinimal = R"(sources:
  - type: tcp
models:
  - name: m
    fake: {sensors: [a, b]}
)";

ConfigError error_of(const std::string& text) {
  try {
    parse_config(text, "test.yaml");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return ConfigError("", 0, 0, "", "");
}

TEST(ConfigTest, ExampleFileLoads) {
  Config c = load_config(std::string(MSCRED_SOURCE_DIR) + "/config.example.yaml");
  // Every source type is spelled out; only TCP is enabled.
  ASSERT_EQ(c.sources.size(), 3u);
  EXPECT_EQ(c.sources[0].type, "tcp");
  EXPECT_TRUE(c.sources[0].enabled);
  EXPECT_FALSE(c.sources[1].enabled);
  EXPECT_FALSE(c.sources[2].enabled);
  EXPECT_EQ(c.sources[1].librdkafka.at("bootstrap.servers"), "localhost:9092");
  EXPECT_FALSE(c.sinks.kafka);
  EXPECT_EQ(c.sources[0].bind, "127.0.0.1");
  EXPECT_EQ(c.sources[0].port, 7878);
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(c.pipeline.scales, (std::vector<int>{10, 30, 60}));
  EXPECT_DOUBLE_EQ(c.shutdown.drain_deadline_s, 20.0);
}

TEST(ConfigTest, EmbeddedDefaultIsTheReadmeDemo) {
  Config c = parse_config(default_config_yaml(), "<embedded>");
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].type, "tcp");
  EXPECT_EQ(c.sources[0].bind, "127.0.0.1");
  EXPECT_EQ(c.sources[0].port, 7878);
  EXPECT_TRUE(c.sinks.log);
  EXPECT_EQ(c.sinks.log_stream, "stdout");
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
}

TEST(ConfigTest, DefaultsApplyToOmittedSections) {
  Config c = parse_config(kMinimal, "test.yaml");
  EXPECT_EQ(c.worker.device, "auto");
  EXPECT_EQ(c.worker.onednn, "auto");
  EXPECT_EQ(c.worker.max_batch, 64u);
  EXPECT_EQ(c.sources[0].name, "tcp");
  EXPECT_EQ(c.entities.unknown, EntitiesConfig::Unknown::kReject);
}

TEST(ConfigTest, UnknownKeyNamesLineAndKey) {
  auto e = error_of(std::string(kMinimal) + "worker:\n  max_batch: 8\n  max_bach: 9\n");
  EXPECT_EQ(e.file(), "test.yaml");
  EXPECT_EQ(e.line(), 8);
  EXPECT_EQ(e.key(), "worker.max_bach");
  EXPECT_NE(std::string(e.what()).find("test.yaml:8:"), std::string::npos) << e.what();
}

TEST(ConfigTest, StreamCacheKeys) {
  Config d = parse_config(kMinimal, "test.yaml");
  EXPECT_TRUE(d.models[0].stream_cache);  // on by default
  EXPECT_EQ(d.models[0].stream_cache_mb, 1024u);
  Config c = parse_config(R"(sources:
  - type: tcp
models:
  - name: m
    path: x.ckpt
    stream_cache: false
    stream_cache_mb: 64
)",
                          "test.yaml");
  EXPECT_FALSE(c.models[0].stream_cache);
  EXPECT_EQ(c.models[0].stream_cache_mb, 64u);
  auto e = error_of(
      "sources:\n  - type: tcp\nmodels:\n  - name: m\n    path: x\n"
      "    stream_cache_mb: 0\n");
  EXPECT_EQ(e.key(), "models[0].stream_cache_mb");
  EXPECT_EQ(e.line(), 6);
}

TEST(ConfigTest, UnknownTopLevelSection) {
  auto e = error_of(std::string(kMinimal) + "sink:\n  log: {}\n");
  EXPECT_EQ(e.line(), 6);
  EXPECT_EQ(e.key(), "sink");
}

TEST(ConfigTest, WrongTypeNamesLineAndKey) {
  auto e = error_of(std::string(kMinimal) + "worker:\n  max_batch: lots\n");
  EXPECT_EQ(e.line(), 7);
  EXPECT_EQ(e.key(), "worker.max_batch");
  EXPECT_NE(std::string(e.what()).find("lots"), std::string::npos);
}

TEST(ConfigTest, ImpossibleValues) {
  EXPECT_EQ(error_of(std::string(kMinimal) + "worker:\n  max_batch: 0\n").key(),
            "worker.max_batch");
  EXPECT_EQ(error_of(std::string(kMinimal) + "worker:\n  device: gpu0\n").key(), "worker.device");
  EXPECT_EQ(error_of(std::string(kMinimal) + "worker:\n  onednn: yes\n").key(), "worker.onednn");
  // YAML 1.1 would read on/off as booleans; yaml-cpp's as<std::string>() keeps the text.
  EXPECT_EQ(
      parse_config(std::string(kMinimal) + "worker:\n  onednn: off\n", "t.yaml").worker.onednn,
      "off");
  EXPECT_EQ(parse_config(std::string(kMinimal) + "worker:\n  onednn: on\n", "t.yaml").worker.onednn,
            "on");
  EXPECT_EQ(error_of(std::string(kMinimal) + "pipeline:\n  scales: [30, 10]\n").key(),
            "pipeline.scales[1]");
  EXPECT_EQ(error_of(std::string(kMinimal) + "shutdown:\n  drain_deadline_s: -1\n").key(),
            "shutdown.drain_deadline_s");
  auto port = error_of(
      "sources:\n  - type: tcp\n    listen: 127.0.0.1:70000\nmodels:\n  - {name: m, fake: "
      "{sensors: [a]}}\n");
  EXPECT_EQ(port.key(), "sources[0].listen");
  EXPECT_EQ(port.line(), 3);
}

TEST(ConfigTest, KafkaRewindRecords) {
  const std::string models = "models:\n  - name: m\n    fake: {sensors: [a]}\n";
  auto kafka = [&](const std::string& extra) {
    return "sources:\n  - type: kafka\n    topics: [t]\n" + extra + models;
  };
  EXPECT_EQ(parse_config(kafka(""), "t.yaml").sources[0].rewind_records, -1);  // auto
  EXPECT_EQ(parse_config(kafka("    rewind_records: 300\n"), "t.yaml").sources[0].rewind_records,
            300);
  auto e = error_of(kafka("    rewind_records: -2\n"));
  EXPECT_EQ(e.key(), "sources[0].rewind_records");
  EXPECT_EQ(e.line(), 4);
}

TEST(ConfigTest, CapacityKeys) {
  Config c = parse_config(
      "sources:\n  - type: tcp\nmodels:\n  - name: m\n    expected_entities: 100\n"
      "    samples_per_s: 0.5\n    fake: {sensors: [a], step_cost_ms: 2.5}\n"
      "worker:\n  capacity_check: warn\n  capacity_headroom: 2\n",
      "t.yaml");
  EXPECT_EQ(c.models[0].expected_entities, 100u);
  EXPECT_DOUBLE_EQ(c.models[0].samples_per_s, 0.5);
  EXPECT_DOUBLE_EQ(c.models[0].fake_step_cost_ms, 2.5);
  EXPECT_EQ(c.worker.capacity_check, WorkerConfig::CapacityCheck::kWarn);
  EXPECT_DOUBLE_EQ(c.worker.capacity_headroom, 2.0);
  EXPECT_EQ(parse_config(kMinimal, "t.yaml").worker.capacity_check,
            WorkerConfig::CapacityCheck::kRefuse);

  EXPECT_EQ(error_of(std::string(kMinimal) + "worker:\n  capacity_check: maybe\n").key(),
            "worker.capacity_check");
  EXPECT_EQ(error_of(std::string(kMinimal) + "worker:\n  capacity_headroom: 0.5\n").key(),
            "worker.capacity_headroom");
  EXPECT_EQ(error_of("sources:\n  - type: tcp\nmodels:\n  - name: m\n    samples_per_s: 0\n"
                     "    fake: {sensors: [a]}\n")
                .key(),
            "models[0].samples_per_s");
  EXPECT_EQ(error_of("sources:\n  - type: tcp\nmodels:\n  - name: m\n    expected_entities: -3\n"
                     "    fake: {sensors: [a]}\n")
                .key(),
            "models[0].expected_entities");
}

TEST(ConfigTest, TcpListenTakesIpv4AndIpv6) {
  Config c = parse_config(
      "sources:\n  - {type: tcp, listen: \"[::1]:9000\"}\n  - {type: tcp, name: t2, listen: "
      "0.0.0.0:0}\nmodels:\n  - {name: m, fake: {sensors: [a]}}\n",
      "l.yaml");
  EXPECT_EQ(c.sources[0].bind, "::1");
  EXPECT_EQ(c.sources[0].port, 9000);
  EXPECT_EQ(c.sources[1].bind, "0.0.0.0");
  EXPECT_EQ(c.sources[1].port, 0);
}

TEST(ConfigTest, NeedsAnEnabledSource) {
  auto e = error_of(
      "sources:\n  - {type: tcp, enabled: false}\nmodels:\n  - {name: m, fake: {sensors: "
      "[a]}}\n");
  EXPECT_EQ(e.key(), "sources");
  EXPECT_EQ(e.line(), 2);
}

TEST(ConfigTest, UnknownSourceType) {
  auto e = error_of("sources:\n  - type: udp\nmodels:\n  - {name: m, fake: {sensors: [a]}}\n");
  EXPECT_EQ(e.key(), "sources[0].type");
  EXPECT_EQ(e.line(), 2);
}

TEST(ConfigTest, EntityNamingMissingModel) {
  auto e = error_of(std::string(kMinimal) + "entities:\n  models:\n    pump-1: nosuch\n");
  EXPECT_EQ(e.key(), "entities.models.pump-1");
  EXPECT_EQ(e.line(), 8);
}

TEST(ConfigTest, DefaultPolicyNeedsDefaultModel) {
  auto e = error_of(std::string(kMinimal) + "entities:\n  unknown: default\n");
  EXPECT_EQ(e.key(), "entities.default_model");
}

TEST(ConfigTest, LibrdkafkaSettingsPassThrough) {
  Config c = parse_config(
      "sources:\n  - type: kafka\n    topics: [t]\n    librdkafka:\n      bootstrap.servers: "
      "b:9092\n      session.timeout.ms: 6000\nmodels:\n  - {name: m, fake: {sensors: [a]}}\n",
      "k.yaml");
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].librdkafka.at("bootstrap.servers"), "b:9092");
  EXPECT_EQ(c.sources[0].librdkafka.at("session.timeout.ms"), "6000");
}

TEST(ConfigTest, YamlSyntaxErrorHasPosition) {
  auto e = error_of("sources:\n  - type: tcp\n    port: [1, 2\n");
  EXPECT_GT(e.line(), 0);
  EXPECT_NE(std::string(e.what()).find("YAML syntax"), std::string::npos);
}

TEST(ConfigTest, MissingFileNamesIt) {
  try {
    load_config("/nonexistent/mscred.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/mscred.yaml");
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

}  // namespace
}  // namespace mscred::daemon
