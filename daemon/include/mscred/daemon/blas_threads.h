#pragma once
// Pins OpenBLAS's thread pool to the LibTorch intra-op thread count.

#include <string>

namespace mscred::daemon {

//! What pin_blas_threads() found and did; describe() is the start-up log line.
struct BlasThreads {
  int intra_op_threads = 0;       //!< resolved LibTorch intra-op threads (worker.threads)
  bool from_environment = false;  //!< OPENBLAS_NUM_THREADS was set by the user: left alone
  std::string environment_value;  //!< its value when from_environment
  bool openblas_loaded = false;   //!< this process has OpenBLAS (through LibTorch)
  int openblas_threads = 0;       //!< openblas_get_num_threads() after pinning
  std::string openblas_config;    //!< openblas_get_config(), e.g. "OpenBLAS 0.3.21 ... Zen"
  std::string describe() const;
};

//! Resolves `threads` (0 = LibTorch's default: one per hardware thread) and makes OpenBLAS
//! use as many threads, unless OPENBLAS_NUM_THREADS is set, which wins. OpenBLAS reads
//! that variable once, in its library constructor, before main() runs, so setting it in
//! main() would be too late: this calls openblas_set_num_threads() (found with dlsym, so
//! a build without LibTorch, or a BLAS that is not OpenBLAS, is handled) and also sets
//! OPENBLAS_NUM_THREADS, and OMP_NUM_THREADS when unset, for child processes and
//! libraries loaded later. LibTorch's own OpenMP pool is sized by the model
//! (torch::set_num_threads). Call first thing in main(), before any model runs; not
//! thread-safe.
BlasThreads pin_blas_threads(int threads);

}  // namespace mscred::daemon
