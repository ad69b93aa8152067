#pragma once
// Registry of `mscred` subcommands. Each file in daemon/commands/ registers one command
// with a static MSCRED_REGISTER_COMMAND(...); those files are compiled into the `mscred`
// executable itself, so their registrars always run.

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mscred::daemon {

//! One subcommand: `setup` adds its options to `sub` and returns the function that runs it
//! (after parsing) and yields the process exit code.
struct Command {
  std::string name;
  std::string description;
  std::function<std::function<int()>(CLI::App& sub)> setup;
};

//! All registered commands, in registration order. Called from main() only.
std::vector<Command>& command_registry();

//! Registers a command; returns true so it can initialise a static.
bool register_command(Command command);

}  // namespace mscred::daemon

#define MSCRED_CONCAT_INNER(a, b) a##b
#define MSCRED_CONCAT(a, b) MSCRED_CONCAT_INNER(a, b)
//! Usage at namespace scope: MSCRED_REGISTER_COMMAND(Command{"synth", "...", setup_fn});
#define MSCRED_REGISTER_COMMAND(command)                          \
  static const bool MSCRED_CONCAT(mscred_registered_, __LINE__) = \
      ::mscred::daemon::register_command(command)
