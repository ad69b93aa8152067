#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang + AddressSanitizer + UBSan in build-fuzz/
# and runs each for a bounded time. usage: tools/fuzz.sh [seconds-per-target] [target...]
#   seconds: default 20; targets: default all (record csv_reader config checkpoint).
# Crashes land in build-fuzz/artifacts/<target>/; the exit status is 1 if any target found
# one. The corpus each run grows is kept in build-fuzz/corpus/<target>/ (seeded from
# fuzz/corpus/), so a later run continues from it. See docs/robustness.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
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
  corpus="$build_dir/corpus/$t"
  artifacts="$build_dir/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  if [ "$t" = checkpoint ]; then python3 fuzz/make_checkpoint_seed.py "$corpus"; fi
  dict=()
  case "$t" in
    record) dict=(-dict=fuzz/dict/record.dict) ;;
    config) dict=(-dict=fuzz/dict/config.dict) ;;
  esac
  echo "== $t: ${seconds}s"
  if ! "$build_dir/fuzz/${t}_fuzzer" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
      -max_len=8192 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts" \
      -print_final_stats=1 2>"$build_dir/$t.log"; then
    failed+=("$t")
    tail -n 40 "$build_dir/$t.log"
  else
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+ *DONE' "$build_dir/$t.log" || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (inputs under $build_dir/artifacts/)" >&2
  exit 1
fi
echo "fuzz: no findings (${seconds}s per target)"
