#include "mscred/daemon/command_registry.h"

#include <utility>

namespace mscred::daemon {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

bool register_command(Command command) {
  command_registry().push_back(std::move(command));
  return true;
}

}  // namespace mscred::daemon
