#!/usr/bin/env bash
# GPU checks, for a session that has a GPU machine (see the device tool). One prepared run of a few
# minutes; each section reports and goes on when another fails. Files land in $OUT (or build-gpu/):
#   vllm_cuda_golden_<gpu>.txt   real vllm-cuda noise rows      -> commit to tests/data/noise/
#   vllm_cuda_tokens_<gpu>.txt   real vLLM-sampled tokens       -> commit to tests/data/noise/
#   gpu_anchor.json              transformers prefill + torch scoring anchors (docs/performance.md)
#   probe.log                    toolchain, MPI/HDF5/Boost availability, libtorch C++ route
# Then, only where MPI, parallel HDF5 and Boost exist there, builds fssl with CUDA + NCCL (sm_90)
# into build-gpu/ and runs the ctest `gpu` label. Set FSSL_GPU_ANCHORS=0 to skip the anchors.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FSSL_GPU_BUILD_DIR:-$root/build-gpu}"
out="${OUT:-$build}"
mkdir -p "$build" "$out"
status=0

echo "# --- machine and toolchain"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4
  nvcc --version 2>&1 | tail -1
  for tool in mpicxx mpicc mpirun mpiexec ompi_info h5pcc h5cc cmake ninja; do
    printf '# %-9s %s\n' "$tool" "$(command -v $tool || echo missing)"
  done
  ls -d /usr/include/boost/program_options* /usr/include/hdf5/openmpi 2>&1 | sed 's/^/# /'
  ldconfig -p | grep -E 'libmpi\.so|libhdf5|boost_program|libnccl' | sed 's/^/# /' | head
  python3 - <<'EOF'
import torch
print("# torch", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch.compiled_with_cxx11_abi(),
      "cmake prefix", torch.utils.cmake_prefix_path)
try:
    import mpi4py
    print("# mpi4py", mpi4py.__version__, mpi4py.get_config())
    from mpi4py import MPI
    print("# mpi library:", MPI.Get_library_version().strip().splitlines()[0])
except Exception as exc:  # noqa: BLE001 - a probe reports whatever is wrong
    print("# mpi4py:", exc)
try:
    import nvidia.nccl, os
    print("# nccl wheel:", os.listdir(os.path.dirname(nvidia.nccl.__path__[0] + "/")))
except Exception as exc:  # noqa: BLE001
    print("# nccl wheel:", exc)
EOF
} 2>&1 | tee "$out/probe.log"

gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr ' ' '_' | tr -cd 'A-Za-z0-9_-')"
gpu_name="${gpu_name:-gpu}"

echo "# --- libtorch C++ probe (background build)"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
(cmake -S "$root/tests/gpu/libtorch_probe" -B "$build/libtorch_probe" -DCMAKE_BUILD_TYPE=Release \
   -DCMAKE_PREFIX_PATH="$torch_prefix" -DCMAKE_CUDA_ARCHITECTURES=90 >"$build/libtorch_probe.log" 2>&1 &&
 cmake --build "$build/libtorch_probe" -j4 >>"$build/libtorch_probe.log" 2>&1) &
probe_pid=$!

echo "# --- vllm-cuda noise rows (torch CUDA generator + exponential_)"
if timeout 180 python3 "$root/tests/data/noise/capture_vllm_cuda_rows.py" >"$out/vllm_cuda_golden_${gpu_name}.txt"; then
  echo "# captured vllm_cuda_golden_${gpu_name}.txt ($(wc -l <"$out/vllm_cuda_golden_${gpu_name}.txt") lines)"
else
  echo "# rows capture failed"; status=1
fi

echo "# --- vllm-cuda sampled tokens (vLLM V1 native sampler order)"
if timeout 180 python3 "$root/tests/data/noise/capture_vllm_cuda_tokens.py" >"$out/vllm_cuda_tokens_${gpu_name}.txt"; then
  echo "# captured vllm_cuda_tokens_${gpu_name}.txt ($(wc -l <"$out/vllm_cuda_tokens_${gpu_name}.txt") lines)"
else
  echo "# tokens capture failed"; status=1
fi

echo "# --- libtorch C++ probe"
if wait "$probe_pid"; then
  timeout 120 "$build/libtorch_probe/libtorch_probe" 2>&1 | tee -a "$out/probe.log"
  python3 - <<'EOF' 2>&1 | tee -a "$out/probe.log"
import struct, torch
g = torch.Generator(device="cuda"); g.manual_seed(42)
e = torch.empty(128256, device="cuda").exponential_(generator=g).cpu().tolist()
print("python exponential row seed 42 V 128256: bits" + "".join(
    " [%d]=%08x" % (i, struct.unpack("<I", struct.pack("<f", e[i]))[0]) for i in (0, 1, 2, 3, 64000, 128255)))
EOF
else
  echo "# libtorch probe build failed:"; grep -E -A3 'error|Error' "$build/libtorch_probe.log" | head -30 | tee -a "$out/probe.log"
  status=1
fi

echo "# --- fssl's vllm-cuda GPU kernel against torch's exponential_ (bit for bit)"
rm -rf "$build/torch_rows" && mkdir -p "$build/torch_rows"
if nvcc -std=c++17 -O2 -arch=sm_90 --expt-relaxed-constexpr -I"$root/include" -I"$root/src" \
     "$root/tests/gpu/noise_cuda_check.cu" "$root/src/noise_vllm_cuda.cu" -o "$build/noise_cuda_check" 2>&1 &&
   timeout 120 python3 - "$build/torch_rows" "$root"/tests/data/noise/vllm_cuda_golden_*.txt <<'EOF'
import sys, torch
for path in sys.argv[2:]:
    for line in open(path):
        f = line.split()
        if f and f[0] == "case":
            seed, v, n = int(f[1]), int(f[2]), int(f[3])
            g = torch.Generator(device="cuda"); g.manual_seed(seed)
            rows = torch.stack([torch.empty(v, device="cuda").exponential_(generator=g) for _ in range(n)])
            rows.cpu().numpy().tofile("%s/%d_%d.f32" % (sys.argv[1], seed, v))
EOF
then
  timeout 120 "$build/noise_cuda_check" --torch-dir "$build/torch_rows" "$root"/tests/data/noise/vllm_cuda_golden_*.txt 2>&1 |
    tee -a "$out/probe.log"
  test "${PIPESTATUS[0]}" -eq 0 || status=1
else
  echo "# noise_cuda_check build or torch dump failed"; status=1
fi

echo "# --- CPU lg2 model vs the device's __logf over all 2^32 words"
nvcc -std=c++17 -O2 -arch=sm_90 "$root/tests/gpu/lg2_model_bound.cu" -o "$build/lg2_model_bound" 2>&1 &&
  timeout 120 "$build/lg2_model_bound" "$out/logf_near_one_${gpu_name}.f32" 2>&1 | tee -a "$out/probe.log"

if [ "${FSSL_GPU_ANCHORS:-1}" != 0 ]; then
  echo "# --- anchors (transformers prefill, torch scoring)"
  PYTHONUNBUFFERED=1 timeout 300 python3 "$root/tools/bench_gpu_anchor.py" >"$out/gpu_anchor.json" 2>"$build/anchor.err" &&
    cat "$out/gpu_anchor.json" || { tail -20 "$build/anchor.err"; status=1; }
fi

echo "# --- fssl CUDA + NCCL build"
if ! command -v mpicxx >/dev/null || ! { command -v h5pcc >/dev/null || [ -d /usr/include/hdf5/openmpi ]; } ||
   [ ! -d /usr/include/boost/program_options ]; then
  echo "# gpu: fssl build skipped: MPI, parallel HDF5 or Boost.Program_options missing on this machine (probe.log)"
  exit "$status"
fi
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFSSL_WITH_CUDA=ON -DFSSL_WITH_NCCL=ON \
     -DCMAKE_CUDA_ARCHITECTURES=90 ${torch_prefix:+-DCMAKE_PREFIX_PATH=$torch_prefix} >"$out/configure.log" 2>&1; then
  grep -E 'Could NOT|not found|Error' "$out/configure.log" | head -20
  echo "# gpu: configure failed (log: $out/configure.log)"
  exit 2
fi
if ! cmake --build "$build" -j"$(nproc)" --target fssl_nccl_smoke >"$out/build.log" 2>&1; then
  grep -E -A5 'error' "$out/build.log" | head -40
  echo "# gpu: build failed (log: $out/build.log)"
  exit 2
fi
cd "$build" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ctest -L gpu --output-on-failure -V 2>&1 |
  grep -E 'PASS|FAIL|SKIP|tests passed|Error' | tee "$out/gpu-tests.log"
test "${PIPESTATUS[0]}" -eq 0 && exit "$status"
