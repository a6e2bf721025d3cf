#!/usr/bin/env bash
# GPU checks, for a session that has a GPU machine (see the device tool): prints the machine's
# toolchain, captures real vllm-cuda noise rows (golden data for tests/noise_test.cpp: commit the
# file that comes back as tests/data/noise/vllm_cuda_golden_<gpu>.txt), builds fssl with CUDA +
# NCCL (sm_90) into build-gpu/ and runs the ctest `gpu` label.
# Prepared to run once within a few minutes; exits non-zero with the reason when a dependency
# (MPI, parallel HDF5, Boost, libtorch) is missing there, so the next session can adapt it.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FSSL_GPU_BUILD_DIR:-$root/build-gpu}"
out="${OUT:-$build}"
mkdir -p "$build" "$out"

echo "# --- machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4
nvcc --version 2>&1 | tail -1
for tool in mpicxx mpirun h5pcc cmake; do printf '# %-8s %s\n' "$tool" "$(command -v $tool || echo missing)"; done
python3 -c 'import torch; print("# torch", torch.__version__, "cuda", torch.version.cuda, "cmake prefix", torch.utils.cmake_prefix_path)' 2>&1

echo "# --- vllm-cuda noise rows (torch CUDA generator + exponential_)"
gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr ' ' '_' | tr -cd 'A-Za-z0-9_-')"
python3 "$root/tests/data/noise/capture_vllm_cuda_rows.py" >"$out/vllm_cuda_golden_${gpu_name:-gpu}.txt" &&
  echo "# captured $out/vllm_cuda_golden_${gpu_name:-gpu}.txt" || echo "# capture failed (see above)"

torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
echo "# --- configure"
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFSSL_WITH_CUDA=ON -DFSSL_WITH_NCCL=ON \
     -DCMAKE_CUDA_ARCHITECTURES=90 ${torch_prefix:+-DCMAKE_PREFIX_PATH=$torch_prefix} >"$out/configure.log" 2>&1; then
  grep -E 'Could NOT|not found|Error' "$out/configure.log" | head -20
  echo "# gpu: configure failed (log: $out/configure.log)"
  exit 2
fi
echo "# --- build"
if ! cmake --build "$build" -j"$(nproc)" --target fssl_nccl_smoke >"$out/build.log" 2>&1; then
  grep -E -A5 'error' "$out/build.log" | head -40
  echo "# gpu: build failed (log: $out/build.log)"
  exit 2
fi
echo "# --- tests"
cd "$build" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ctest -L gpu --output-on-failure -V 2>&1 |
  grep -E 'PASS|FAIL|SKIP|tests passed|Error' | tee "$out/gpu-tests.log"
test "${PIPESTATUS[0]}" -eq 0
