#!/bin/sh
# Lifts NVIDIA's libdevice __nv_logf and __nv_log1pf to an x86-64 object file, so that golden values
# of the GPU's float32 log come from NVIDIA's own bitcode and no fssl code: the two functions are
# extracted with LLVM 14 (Debian's llvm-14, clang-14), their NVVM intrinsics renamed to the CPU
# stand-ins of libdevice_log_shim.c, and the result compiled. Link OUT with libdevice_log_shim.c.
#   sh libdevice_lift.sh /usr/local/cuda/nvvm/libdevice/libdevice.10.bc OUT.o
set -eu
bc=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
llvm-extract-14 --func=__nv_logf --func=__nv_log1pf "$bc" -o "$tmp/ex.bc"
llvm-dis-14 "$tmp/ex.bc" -o "$tmp/ex.ll"
sed -e '/^target /d' -e 's/@llvm\.nvvm\.fma\.rn\.ftz\.f(/@shim_fma_rn_ftz_f(/g' -e 's/@llvm\.nvvm\.fma\.rn\.f(/@shim_fma_rn_f(/g' \
    -e 's/@llvm\.nvvm\.add\.rz\.ftz\.f(/@shim_add_rz_ftz_f(/g' -e 's/@llvm\.nvvm\.add\.rz\.f(/@shim_add_rz_f(/g' \
    -e 's/@__nvvm_reflect(/@shim_reflect(/g' -e 's/@\.str\b/@shim_str/g' "$tmp/ex.ll" > "$tmp/ex_cpu.ll"
clang-14 -O0 -Wno-override-module -c "$tmp/ex_cpu.ll" -o "$out"
