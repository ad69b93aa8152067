#include "mscred/connectors/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace mscred::connectors {

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto created = spdlog::stderr_color_mt(name);
  created->set_level(spdlog::get_level());
  return created;
}

}  // namespace mscred::connectors
