// `mscred`: the offline commands (synth, signatures, train, eval, replay).
#include <CLI/CLI.hpp>

#include <iostream>

#include "mscred/daemon/version.h"

int main(int argc, char** argv) {
  CLI::App app{"mscred: multi-scale signature matrices and the MSCRED anomaly model"};
  app.set_version_flag("--version", mscred::daemon::version());
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
