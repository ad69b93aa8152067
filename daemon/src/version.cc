#include "mscred/daemon/version.h"

namespace mscred::daemon {

const char* version() {
  return MSCRED_VERSION;
}

}  // namespace mscred::daemon
