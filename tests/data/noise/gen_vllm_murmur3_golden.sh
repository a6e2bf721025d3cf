#!/bin/sh
# Golden values of vLLM Model Runner V2's Murmur3 Gumbel noise (vllm#51367): hashes and uniforms from
# Triton's own kernels in its interpreter, checked against the PyPI mmh3 package
# (gen_vllm_murmur3_golden.py); the float32 noise from NVIDIA's libdevice __nv_logf lifted to the CPU
# (libdevice_lift.sh, vllm_murmur3_harness.c). No fssl code is involved.
#   python3 -m venv /tmp/tv && /tmp/tv/bin/pip install triton numpy mmh3
#   apt-get install llvm-14 clang-14
#   PYTHON=/tmp/tv/bin/python sh gen_vllm_murmur3_golden.sh > vllm_murmur3_golden.txt
set -eu
bc=${1:-/usr/local/cuda/nvvm/libdevice/libdevice.10.bc}
python=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/libdevice_lift.sh" "$bc" "$tmp/ex.o"
clang-14 -O0 -ffp-contract=off "$here/vllm_murmur3_harness.c" "$here/libdevice_log_shim.c" "$tmp/ex.o" -lm -o "$tmp/harness"
"$python" "$here/gen_vllm_murmur3_golden.py" > "$tmp/keys.txt"
"$tmp/harness" < "$tmp/keys.txt"
