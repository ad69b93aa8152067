#!/usr/bin/env bash
# Sanitizer builds of everything that does not need LibTorch, and their tests.
#  1. build-asan/: AddressSanitizer + UndefinedBehaviorSanitizer (-DMSCRED_SANITIZE=ON),
#     Debug, MSCRED_WITH_TORCH=OFF: builds the whole tree that remains (pipeline,
#     connectors, daemon and their binaries, every test) and runs the unit, integration and
#     robustness tests.
#  2. build-tsan/: ThreadSanitizer (-DMSCRED_TSAN=ON): builds the test binaries that hold
#     the queue, worker and shutdown tests and runs those tests (ctest -R "$TSAN_FILTER").
# The compiler is clang by default (its UBSan also checks float-to-int overflow); set
# SANITIZE_CXX=g++ to use GCC. usage: tools/sanitize.sh [asan|tsan|all]  (default all)
# Exit status: non-zero if a build fails or any sanitizer or test reports a problem.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
cxx="${SANITIZE_CXX:-clang++}"
jobs="${SANITIZE_JOBS:-2}"
generator=()
keep_going=(-k)
if command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
  keep_going=(-k 0)
fi
# The tests of the queue, the worker and shutdown: tests/daemon (bounded_queue_test,
# worker_test, sigterm_integration_test) and tests/robustness (shutdown_race_test, the
# worker, TCP and file-source bad-input tests).
tsan_filter="${TSAN_FILTER:-BoundedQueueTest|TimestampRuleTest|WorkerTest|Sigterm|Shutdown|WorkerBadInputTest|TcpBadInputTest|TcpLimitsTest|FileBadInputTest}"

configure() {  # dir, extra cmake args...
  local dir="$1"
  shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    CXX="$cxx" cmake -S . -B "$dir" "${generator[@]}" -DMSCRED_WITH_TORCH=OFF \
      -DMSCRED_BUILD_BENCH=OFF "$@" >/dev/null
  fi
}

# Real problems stop the test at once; leaks are checked at exit (LeakSanitizer).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
status=0

if [ "$what" = all ] || [ "$what" = asan ]; then
  echo "== asan+ubsan: build-asan/"
  start=$(date +%s)
  configure build-asan -DCMAKE_BUILD_TYPE=Debug -DMSCRED_SANITIZE=ON
  # Keep going past a target that does not build without LibTorch, so the tests of
  # everything else still run; the failure is reported and fails the script.
  if ! cmake --build build-asan -j "$jobs" -- "${keep_going[@]}"; then
    echo "== asan+ubsan: some targets did not build (see above); testing the rest" >&2
    status=1
  fi
  echo "== asan+ubsan: build $(($(date +%s) - start)) s; tests"
  # tests/deploy checks the packaging (Dockerfile, unit, manifests) against the binaries'
  # shared-library needs; a clang sanitizer build links differently (no --as-needed), so
  # those checks are not meaningful here and are left to the ordinary build.
  if ! ctest --test-dir build-asan -L 'unit|integration|robustness' -E '^deploy_' \
      --output-on-failure -j "$jobs" --timeout 300; then
    status=1
  fi
  echo "== asan+ubsan: done in $(($(date +%s) - start)) s"
fi

if [ "$what" = all ] || [ "$what" = tsan ]; then
  echo "== tsan: build-tsan/"
  start=$(date +%s)
  configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSCRED_TSAN=ON
  # Only the binaries that hold the filtered tests (those that exist on this branch).
  targets=()
  available="$(cmake --build build-tsan --target help)"
  for t in daemon_unit_test daemon_integration_test robustness_test; do
    if grep -q "^$t:" <<<"$available"; then targets+=("$t"); fi
  done
  # The SIGTERM integration test runs the real mscredd.
  if grep -q "^daemon_integration_test:" <<<"$available"; then targets+=(mscredd); fi
  cmake --build build-tsan -j "$jobs" --target "${targets[@]}"
  echo "== tsan: build $(($(date +%s) - start)) s; tests matching: $tsan_filter"
  if ! ctest --test-dir build-tsan -R "$tsan_filter" --output-on-failure -j "$jobs" \
      --timeout 300 --no-tests=error; then
    status=1
  fi
  echo "== tsan: done in $(($(date +%s) - start)) s"
fi

if [ "$status" -ne 0 ]; then echo "sanitize: problems found (see above)" >&2; fi
exit "$status"
