// `mscred replay`: a CSV file through the daemon's pipeline (file source -> worker ->
// sinks), as fast as possible or at a speed factor.
#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

#include "mscred/connectors/log.h"
#include "mscred/connectors/sinks.h"
#include "mscred/daemon/blas_threads.h"
#include "mscred/daemon/command_registry.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/daemon.h"

namespace {

std::function<int()> setup_replay(CLI::App& sub) {
  struct Options {
    std::string config;
    std::string input;
    std::string entity = "replay";
    double speed = 0.0;
    bool metrics = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("-c,--config", o->config, "daemon YAML (models, pipeline, scoring, sinks)")
      ->required();
  sub.add_option("-i,--input", o->input, "CSV file: [entity,]ts,v1,...,vn (header optional)")
      ->required();
  sub.add_option("--entity", o->entity,
                 "entity of every row; empty = the file's first column is the entity");
  sub.add_option("--speed", o->speed, "0 = as fast as possible, else times real time (ts in s)");
  sub.add_flag("--metrics", o->metrics, "also serve metrics as configured");
  return [o] {
    namespace d = mscred::daemon;
    d::Config config = d::load_config(o->config);
    d::configure_logging(config.logging);
    mscred::connectors::logger("replay")->info(
        "{}", d::pin_blas_threads(config.worker.threads).describe());
    // Replay reads the file only: the configured live sources are replaced.
    d::SourceConfig file;
    file.type = "file";
    file.name = "file";
    file.path = o->input;
    file.entity = o->entity;
    file.speed = o->speed;
    config.sources = {file};
    config.metrics.enabled = o->metrics;
    // Entities in a file are whatever the file says: route unknown ones to the first model.
    if (config.entities.unknown == d::EntitiesConfig::Unknown::kReject &&
        config.entities.models.empty()) {
      config.entities.unknown = d::EntitiesConfig::Unknown::kDefault;
      config.entities.default_model = config.models.front().name;
    }
    d::Daemon daemon(config);
    daemon.start();
    while (!daemon.files_done())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    bool ok = daemon.shutdown();
    const auto& stats = daemon.worker().stats();
    std::cerr << "replayed " << stats.records.load() << " samples: " << stats.steps_scored.load()
              << " steps scored, " << stats.alerts.load() << " alerts, "
              << stats.rejected.load() + daemon.ingest().rejects() << " rejected\n";
    return ok ? 0 : 1;
  };
}

MSCRED_REGISTER_COMMAND((mscred::daemon::Command{
    "replay", "replay a CSV file through the streaming pipeline and sinks", setup_replay}));

}  // namespace
