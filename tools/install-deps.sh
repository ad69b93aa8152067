#!/usr/bin/env bash
# Installs every Debian package mscred needs to build, test, benchmark and run.
# Safe to rerun: apt-get skips what is already installed, and the BLAS choice is idempotent.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache git pkg-config clang clang-format libclang-rt-14-dev
  # the model: LibTorch (CPU build) and an optimised BLAS (the reference BLAS is ~5x slower)
  libtorch-dev libopenblas0-pthread libopenblas-dev
  # connectors and daemon
  libboost-dev libboost-system-dev libssl-dev librdkafka-dev prometheus-cpp-dev libyaml-cpp-dev
  # spdlog: named per-module loggers; nlohmann-json: alert/record JSON; CLI11: command lines;
  # simdjson: fast parsing of ingest records
  libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libsimdjson-dev
  # tests and benchmarks (openssl: the TLS tests make their certificates at test time)
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-numpy python3-torch python3-yaml
  prometheus kcat curl systemd openssl
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Route libblas/liblapack through OpenBLAS (pthread build) rather than the reference BLAS.
arch_dir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
for lib in libblas.so.3 liblapack.so.3; do
  candidate="${arch_dir}/openblas-pthread/${lib}"
  if [ -e "$candidate" ]; then
    $SUDO update-alternatives --set "${lib}-$(basename "$arch_dir")" "$candidate" >/dev/null 2>&1 || true
  fi
done
echo "install-deps: all packages present; BLAS: $(readlink -f "${arch_dir}/libblas.so.3")"
