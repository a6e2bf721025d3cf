#!/usr/bin/env bash
# Installs every Debian 12 package fssl needs (idempotent: apt runs only when something is
# missing), pins the OpenMP OpenBLAS as the system BLAS, and builds fssl into build/
# (FSSL_BUILD_DIR overrides). Safe to run repeatedly; both README commands start with it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${FSSL_BUILD_DIR:-$root/build}"

packages=(
  cmake g++ make git pkg-config
  libopenmpi-dev openmpi-bin            # MPI 3.1 (Open MPI 4.1.4)
  libhdf5-openmpi-dev hdf5-tools        # parallel HDF5 1.10.8
  libboost-program-options-dev
  libtorch-dev libgloo-dev              # libtorch 1.13 (CPU), c10d Gloo headers
  libopenblas0-openmp                   # BLAS that honours torch::set_num_threads
  nlohmann-json3-dev libfmt-dev libssl-dev
  libgtest-dev libgmock-dev
  python3 python3-h5py python3-numpy    # interop tests, demo checks
)
# tests/run.sh also renders report.html in headless Chromium and brings up a one-node Slurm
# cluster (the demo needs neither).
if [ "${FSSL_SETUP_FOR_TESTS:-0}" = 1 ]; then packages+=(chromium slurm-wlm munge); fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "# setup: installing ${#missing[@]} missing packages: ${missing[*]}"
  # Package postinst scripts must not try to start daemons (no init system on the build machines).
  if [ ! -x /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The reference BLAS is 7x slower, and the pthread OpenBLAS ignores torch's thread setting.
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -e "$openblas/libblas.so.3" ]; then
  "${sudo_cmd[@]}" update-alternatives --quiet --set libblas.so.3-x86_64-linux-gnu "$openblas/libblas.so.3" || true
  "${sudo_cmd[@]}" update-alternatives --quiet --set liblapack.so.3-x86_64-linux-gnu "$openblas/liblapack.so.3" || true
fi

mkdir -p "$build_dir"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >"$build_dir/configure.log" 2>&1 ||
    { cat "$build_dir/configure.log"; exit 1; }
  grep -E '^-- (fssl|  \[)' "$build_dir/configure.log" || true
fi
start=$(date +%s)
if ! cmake --build "$build_dir" -j"$(nproc)" >"$build_dir/build.log" 2>&1; then
  grep -E -B2 -A6 'error|Error' "$build_dir/build.log" | head -80
  echo "# setup: build failed (full log: $build_dir/build.log)" >&2
  exit 1
fi
grep -E 'warning:' "$build_dir/build.log" | sort -u | head -20 || true
echo "# setup: fssl built in $build_dir ($(( $(date +%s) - start )) s)"
