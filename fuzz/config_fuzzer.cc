// Fuzzes the daemon's YAML configuration loader (daemon::parse_config, the text half of
// load_config). Its contract: it returns a validated Config or throws ConfigError naming
// the file. Any other exception escapes this harness and libFuzzer reports it, because
// mscredd would then print a message without file, line and key.

#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "mscred/daemon/config.h"

int mscred_fuzz_config(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    mscred::daemon::Config c = mscred::daemon::parse_config(text, "fuzz.yaml");
    // What validation promises to the daemon.
    MSCRED_FUZZ_CHECK(!c.sources.empty());
    MSCRED_FUZZ_CHECK(!c.models.empty());
    MSCRED_FUZZ_CHECK(!c.pipeline.scales.empty());
    MSCRED_FUZZ_CHECK(c.scoring.detect_scale >= 0);
    MSCRED_FUZZ_CHECK(static_cast<size_t>(c.scoring.detect_scale) < c.pipeline.scales.size());
    for (size_t i = 1; i < c.pipeline.scales.size(); ++i)
      MSCRED_FUZZ_CHECK(c.pipeline.scales[i] > c.pipeline.scales[i - 1]);
    MSCRED_FUZZ_CHECK(c.pipeline.step >= 1 && c.pipeline.history >= 1);
    MSCRED_FUZZ_CHECK(c.worker.max_batch >= 1 && c.worker.queue_capacity >= 1);
  } catch (const mscred::daemon::ConfigError& e) {
    MSCRED_FUZZ_CHECK(e.file() == "fuzz.yaml");
    MSCRED_FUZZ_CHECK(e.line() >= 0 && e.column() >= 0);
    MSCRED_FUZZ_CHECK(std::string(e.what()).rfind("fuzz.yaml:", 0) == 0);
  }
  return 0;
}

MSCRED_FUZZ_ENTRY(mscred_fuzz_config)
