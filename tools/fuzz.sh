#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang + AddressSanitizer + UBSan in build-fuzz/
# and runs each for a bounded time.
#   tools/fuzz.sh [seconds-per-target] [target...]   exploratory: default 20 s, all targets
#     (record csv_reader config checkpoint). The corpus each run grows is kept in
#     build-fuzz/corpus/<target>/ (seeded from fuzz/corpus/), so a later run continues.
#   tools/fuzz.sh ci [target...]   the fixed CI policy: each target starts from a fresh copy
#     of the checked-in seeds (build-fuzz/ci-corpus/, emptied first), -seed=1 and a fixed
#     number of inputs (-runs, per target below; FUZZ_CI_RUNS_SCALE multiplies them), so
#     two runs of the same tree execute the same inputs.
# Crashes land in build-fuzz/artifacts/<target>/ and the command that replays one is
# printed; the exit status is 1 if any target found one. See docs/robustness.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=explore
seconds="${1:-20}"
if [ "$seconds" = ci ]; then mode=ci; fi
shift || true
# Inputs per target in CI mode (about 10-20 s each on one loaded core; record is cheap).
declare -A ci_runs=([record]=200000 [csv_reader]=40000 [config]=20000 [checkpoint]=60000)
scale="${FUZZ_CI_RUNS_SCALE:-1}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(record csv_reader config checkpoint); fi
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${FUZZ_BUILD_JOBS:-2}"

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  CXX="${CXX_FUZZ:-clang++}" cmake -S . -B "$build_dir" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSCRED_FUZZ=ON -DMSCRED_SANITIZE=ON \
    -DMSCRED_WITH_TORCH=OFF -DMSCRED_BUILD_BENCH=OFF >/dev/null
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzzer"); done
cmake --build "$build_dir" -j "$jobs" --target "${build_targets[@]}"

# Leaks and UB abort the run (UBSan recovers otherwise); the LeakSanitizer check at exit of
# each input is on by default in libFuzzer.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
failed=()
for t in "${targets[@]}"; do
  artifacts="$build_dir/artifacts/$t/"
  if [ "$mode" = ci ]; then
    corpus="$build_dir/ci-corpus/$t"
    rm -rf "$corpus"
  else
    corpus="$build_dir/corpus/$t"
  fi
  mkdir -p "$corpus" "$artifacts"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  if [ "$t" = checkpoint ]; then python3 fuzz/make_checkpoint_seed.py "$corpus"; fi
  dict=()
  case "$t" in
    record) dict=(-dict=fuzz/dict/record.dict) ;;
    config) dict=(-dict=fuzz/dict/config.dict) ;;
  esac
  if [ "$mode" = ci ]; then
    runs=$((ci_runs[$t] * scale))
    # The time cap only guards against a pathological slow-down; it is not the policy.
    # -reload=0: no time-based re-reading of the corpus directory.
    bound=(-seed=1 -runs="$runs" -reload=0 -max_total_time=300)
    echo "== $t: $runs inputs, seed 1, from the checked-in seeds"
  else
    bound=(-max_total_time="$seconds")
    echo "== $t: ${seconds}s"
  fi
  start=$(date +%s)
  # Without address-space randomisation (setarch -R) the same inputs reach the same
  # coverage, so the run is repeatable; without setarch it is close but not exact.
  norandom=()
  if [ "$mode" = ci ] && setarch -R true 2>/dev/null; then norandom=(setarch -R); fi
  if ! "${norandom[@]}" "$build_dir/fuzz/${t}_fuzzer" "$corpus" "${dict[@]}" "${bound[@]}" \
      -max_len=8192 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts" \
      -print_final_stats=1 2>"$build_dir/$t.log"; then
    failed+=("$t")
    tail -n 40 "$build_dir/$t.log"
    # libFuzzer names the input it saved ("Test unit written to PATH").
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$build_dir/$t.log" | tail -n 1)"
    if [ -n "$artifact" ]; then
      echo "fuzz: $t: finding saved to $artifact; reproduce with:"
      echo "  $build_dir/fuzz/${t}_fuzzer $artifact"
      echo "  then copy it to tests/robustness/regressions/$t/ (robustness_fuzz_replay_test)"
    fi
  else
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+ *DONE' "$build_dir/$t.log" || true
    echo "   $t: $(($(date +%s) - start)) s"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (inputs under $build_dir/artifacts/)" >&2
  exit 1
fi
if [ "$mode" = ci ]; then
  echo "fuzz: no findings (CI policy: fixed runs, seed 1)"
else
  echo "fuzz: no findings (${seconds}s per target)"
fi
