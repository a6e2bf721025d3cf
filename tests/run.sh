#!/usr/bin/env bash
# README command (b): install what is missing, build, and run every test suite through ctest
# (labels: unit, mpi, interop, slurm; gpu tests skip without a device). Installs Chromium (the
# headless rendering check of report.html) and Slurm + munge (a one-node cluster) too. Extra arguments go to ctest,
# e.g. `tests/run.sh -L unit`. Ends with ctest's "N% tests passed, M tests failed out of T" line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${FSSL_BUILD_DIR:-$root/build}"
FSSL_SETUP_FOR_TESTS=1 "$root/tools/setup.sh"
cd "$build_dir"
ctest --output-on-failure -j"$(nproc)" --timeout 900 "$@"
