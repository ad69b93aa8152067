#include "mscred/daemon/blas_threads.h"

#include <dlfcn.h>

#include <cstdlib>
#include <thread>

namespace mscred::daemon {

namespace {

template <typename Fn>
Fn lookup(const char* name) {
  // RTLD_DEFAULT: OpenBLAS arrives as a dependency of libtorch_cpu (libblas.so.3 of
  // Debian's openblas-pthread alternative forwards to libopenblas.so.0), so it is in the
  // global scope when present.
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

std::string BlasThreads::describe() const {
  std::string s = "LibTorch intra-op threads " + std::to_string(intra_op_threads) + "; ";
  if (!openblas_loaded) return s + "OpenBLAS not loaded in this process (nothing to pin)";
  s += "OpenBLAS threads " + std::to_string(openblas_threads);
  s += from_environment ? " (OPENBLAS_NUM_THREADS=" + environment_value +
                              " from the environment wins over worker.threads)"
                        : " (pinned to the intra-op threads)";
  return s + "; " + openblas_config;
}

BlasThreads pin_blas_threads(int threads) {
  BlasThreads r;
  unsigned hw = std::thread::hardware_concurrency();
  r.intra_op_threads = threads > 0 ? threads : static_cast<int>(hw > 0 ? hw : 1);
  const std::string n = std::to_string(r.intra_op_threads);

  const char* env = std::getenv("OPENBLAS_NUM_THREADS");
  r.from_environment = env != nullptr && *env != '\0';
  if (r.from_environment) {
    r.environment_value = env;
  } else {
    setenv("OPENBLAS_NUM_THREADS", n.c_str(), 1);
  }
  const char* omp = std::getenv("OMP_NUM_THREADS");
  if (omp == nullptr || *omp == '\0') setenv("OMP_NUM_THREADS", n.c_str(), 1);

  auto set = lookup<void (*)(int)>("openblas_set_num_threads");
  auto get = lookup<int (*)()>("openblas_get_num_threads");
  auto config = lookup<char* (*)()>("openblas_get_config");
  r.openblas_loaded = set != nullptr && get != nullptr;
  if (!r.openblas_loaded) return r;
  // The library constructor already read the environment, so an explicit value is in
  // force; otherwise resize its pool now (threads it started beyond this stay idle).
  if (!r.from_environment) set(r.intra_op_threads);
  r.openblas_threads = get();
  if (config != nullptr) r.openblas_config = config();
  return r;
}

}  // namespace mscred::daemon
