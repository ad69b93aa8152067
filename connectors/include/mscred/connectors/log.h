#pragma once
// Named spdlog loggers, one per module ("tcp", "kafka", "worker", ...).

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace mscred::connectors {

//! The logger called `name`, created on first use (to stderr, so stdout stays free for
//! JSON alert lines). Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

}  // namespace mscred::connectors
