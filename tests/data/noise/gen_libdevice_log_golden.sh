#!/bin/sh
# Golden values of the GPU's float32 log and log1p as Triton kernels call them: NVIDIA's libdevice
# bitcode itself (__nv_logf, __nv_log1pf), lifted to the CPU with LLVM 14 (Debian's llvm-14 and
# clang-14): the two functions are extracted, their NVVM intrinsics renamed to the CPU stand-ins of
# libdevice_log_shim.c, and the result compiled for x86-64. No fssl code is involved.
#   sh gen_libdevice_log_golden.sh /usr/local/cuda/nvvm/libdevice/libdevice.10.bc > libdevice_log_golden.txt
set -eu
bc=${1:-/usr/local/cuda/nvvm/libdevice/libdevice.10.bc}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
llvm-extract-14 --func=__nv_logf --func=__nv_log1pf "$bc" -o "$tmp/ex.bc"
llvm-dis-14 "$tmp/ex.bc" -o "$tmp/ex.ll"
sed -e '/^target /d' -e 's/@llvm\.nvvm\.fma\.rn\.ftz\.f(/@shim_fma_rn_ftz_f(/g' -e 's/@llvm\.nvvm\.fma\.rn\.f(/@shim_fma_rn_f(/g' \
    -e 's/@llvm\.nvvm\.add\.rz\.ftz\.f(/@shim_add_rz_ftz_f(/g' -e 's/@llvm\.nvvm\.add\.rz\.f(/@shim_add_rz_f(/g' \
    -e 's/@__nvvm_reflect(/@shim_reflect(/g' -e 's/@\.str\b/@shim_str/g' "$tmp/ex.ll" > "$tmp/ex_cpu.ll"
clang-14 -O0 -Wno-override-module -c "$tmp/ex_cpu.ll" -o "$tmp/ex.o"
clang-14 -O0 -ffp-contract=off "$here/libdevice_log_harness.c" "$here/libdevice_log_shim.c" "$tmp/ex.o" -lm -o "$tmp/harness"
echo "# libdevice __nv_logf / __nv_log1pf on the CPU ($(md5sum "$bc" | cut -c1-32) $(basename "$bc")); columns: k u logf(u) log1pf(-u) G_log1p G_log"
"$tmp/harness"
