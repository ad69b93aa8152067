#pragma once

namespace mscred::daemon {

//! The project version, as set in the top-level CMakeLists.txt.
const char* version();

}  // namespace mscred::daemon
