// `mscred`: the offline commands (synth, signatures, train, eval, replay). Each command
// lives in daemon/commands/ and registers itself.
#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <vector>

#include "mscred/daemon/command_registry.h"
#include "mscred/daemon/version.h"

int main(int argc, char** argv) {
  CLI::App app{"mscred: multi-scale signature matrices and the MSCRED anomaly model"};
  app.set_version_flag("--version", mscred::daemon::version());
  app.require_subcommand(1);

  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (const auto& command : mscred::daemon::command_registry()) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    runners.emplace_back(sub, command.setup(*sub));
  }
  CLI11_PARSE(app, argc, argv);

  for (auto& [sub, run] : runners) {
    if (sub->parsed()) {
      try {
        return run();
      } catch (const std::exception& e) {
        std::cerr << "mscred " << sub->get_name() << ": " << e.what() << "\n";
        return 1;
      }
    }
  }
  return 2;
}
