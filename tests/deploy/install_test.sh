#!/usr/bin/env bash
# `cmake --install BUILD --prefix /usr` into a scratch DESTDIR puts the binary, the unit
# and the config where a Debian admin expects them, and the installed unit still passes
# check_systemd_unit.py with ExecStart naming the installed binary.
# Usage: install_test.sh BUILD_DIR PYTHON CHECKS_DIR
# Exits 77 when deploy/install.cmake is not included from the top-level CMakeLists.txt.
set -euo pipefail
build="$1"
python="$2"
checks="$3"
dest="$(mktemp -d "${TMPDIR:-/tmp}/mscred-install.XXXXXX")"
trap 'rm -rf "$dest"' EXIT

DESTDIR="$dest" cmake --install "$build" --prefix /usr >"$dest.log" 2>&1 || {
  cat "$dest.log"; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"
unit="$dest/usr/lib/systemd/system/mscredd.service"
if [ ! -f "$unit" ]; then
  echo "SKIP: no unit installed: include(deploy/install.cmake) is not in the top-level CMakeLists.txt yet"
  exit 77
fi

status=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; status=1; fi
}
check "unit ExecStart names /usr/bin/mscredd and /etc/mscred/mscredd.yaml" \
  grep -qx 'ExecStart=/usr/bin/mscredd --config /etc/mscred/mscredd.yaml' "$unit"
check "docs installed to /usr/share/doc/mscred" test -f "$dest/usr/share/doc/mscred/deploy.md"
if [ -f "$(dirname "$checks")/../config.example.yaml" ]; then
  check "config installed to /etc/mscred/mscredd.yaml" test -f "$dest/etc/mscred/mscredd.yaml"
else
  echo "note: config.example.yaml does not exist yet; no config to install"
fi
if [ -x "$dest/usr/bin/mscredd" ]; then
  echo "ok: /usr/bin/mscredd installed"
else
  echo "note: mscredd is not built yet; /usr/bin/mscredd not installed"
fi
check "installed unit passes check_systemd_unit.py" \
  "$python" "$checks/check_systemd_unit.py" "$unit" --mscredd "$dest/usr/bin/mscredd"
exit "$status"
