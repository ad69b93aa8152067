#pragma once
// Shared helpers of the fuzz harnesses. A harness checks invariants beyond "no crash": a
// broken invariant aborts with a message, so libFuzzer records the input as a crash and
// the replay test in tests/robustness fails on it the same way.

#include <cstdio>
#include <cstdlib>

#define MSCRED_FUZZ_CHECK(cond)                                                              \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

// Each harness defines `int mscred_fuzz_<name>(const uint8_t*, size_t)` and, unless the
// replay test compiles it (MSCRED_FUZZ_NO_ENTRY), libFuzzer's entry point calling it.
#ifdef MSCRED_FUZZ_NO_ENTRY
#define MSCRED_FUZZ_ENTRY(fn)
#else
#define MSCRED_FUZZ_ENTRY(fn)                                               \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return fn(data, size);                                                  \
  }
#endif
