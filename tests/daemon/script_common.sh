# shellcheck shell=bash
# Sourced, after `set -euo pipefail`, by the `mscred` CLI test scripts here (registered in
# CMakeLists.txt as `bash SCRIPT $<TARGET_FILE:mscred>`): the binary as $mscred and a scratch
# directory $dir, removed on exit.
mscred=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# synth_data ARGS...: `mscred synth ARGS...` writing its data set to $dir/data, quietly.
synth_data() {
  "$mscred" synth "$@" --out "$dir/data" >/dev/null
}
