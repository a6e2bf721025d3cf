#!/bin/sh
# Golden values of the GPU's float32 log and log1p as Triton kernels call them: NVIDIA's libdevice
# bitcode itself (__nv_logf, __nv_log1pf), lifted to the CPU by libdevice_lift.sh. No fssl code is
# involved.
#   sh gen_libdevice_log_golden.sh /usr/local/cuda/nvvm/libdevice/libdevice.10.bc > libdevice_log_golden.txt
set -eu
bc=${1:-/usr/local/cuda/nvvm/libdevice/libdevice.10.bc}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/libdevice_lift.sh" "$bc" "$tmp/ex.o"
clang-14 -O0 -ffp-contract=off "$here/libdevice_log_harness.c" "$here/libdevice_log_shim.c" "$tmp/ex.o" -lm -o "$tmp/harness"
echo "# libdevice __nv_logf / __nv_log1pf on the CPU ($(md5sum "$bc" | cut -c1-32) $(basename "$bc")); columns: k u logf(u) log1pf(-u) G_log1p G_log"
"$tmp/harness"
