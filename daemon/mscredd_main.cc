// `mscredd`: the streaming daemon. Reads a YAML config (or the embedded default), serves
// sources -> worker -> sinks until SIGTERM/SIGINT (drain, flush, commit, exit 0), reloads
// models on SIGHUP.
#include <signal.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "mscred/connectors/log.h"
#include "mscred/daemon/blas_threads.h"
#include "mscred/daemon/config.h"
#include "mscred/daemon/daemon.h"
#include "mscred/daemon/sd_notify.h"
#include "mscred/daemon/version.h"

namespace {

// Signals are taken synchronously with sigtimedwait on the main thread: they are blocked
// before any thread starts, so every thread inherits the mask and none is interrupted.
sigset_t blocked_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mscredd: streaming MSCRED anomaly detection"};
  app.set_version_flag("--version", mscred::daemon::version());
  std::string config_path;
  std::string check_path;
  app.add_option("-c,--config", config_path, "YAML configuration (default: the embedded demo)");
  app.add_option("--check-config", check_path, "validate FILE and exit (0 = valid)");
  CLI11_PARSE(app, argc, argv);

  namespace d = mscred::daemon;
  if (!check_path.empty()) {
    try {
      d::Config c = d::load_config(check_path);
      std::cout << check_path << ": OK (" << c.sources.size() << " sources, " << c.models.size()
                << " models)\n";
      return 0;
    } catch (const d::ConfigError& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
  }

  sigset_t signals = blocked_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  d::Config config;
  try {
    config = config_path.empty() ? d::parse_config(d::default_config_yaml(), "<embedded default>")
                                 : d::load_config(config_path);
  } catch (const d::ConfigError& e) {
    std::cerr << "mscredd: " << e.what() << "\n";
    return 1;
  }
  d::configure_logging(config.logging);
  auto log = mscred::connectors::logger("daemon");
  // Before any model runs: OpenBLAS's pool sized like LibTorch's (blas_threads.h).
  log->info("{}", d::pin_blas_threads(config.worker.threads).describe());

  d::Daemon daemon(config);
  try {
    daemon.start();
  } catch (const std::exception& e) {
    log->critical("start-up failed: {}", e.what());
    daemon.shutdown();
    return 1;
  }

  // systemd's watchdog, if configured: ping at least twice per interval.
  const auto watchdog = d::watchdog_interval();
  auto last_ping = std::chrono::steady_clock::now();
  while (true) {
    timespec wait{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP) {
      log->info("SIGHUP: reloading models");
      daemon.reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      log->info("{}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    } else if (daemon.files_done()) {
      log->info("all file sources replayed");
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (watchdog && now - last_ping >= *watchdog / 2) {
      d::notify_watchdog();
      last_ping = now;
    }
  }
  return daemon.shutdown() ? 0 : 1;
}
