#!/usr/bin/env bash
# GPU checks, for a session that has a GPU machine (see the device tool): one prepared run of a
# few minutes; each section reports and the script goes on when one fails. Results land in $OUT
# (or build-gpu/out):
#   probe.log                      toolchain, libraries, GPU
#   vllm_cuda_golden_<gpu>.txt     real vllm-cuda noise rows (torch CUDA generators) -> commit to
#                                  tests/data/noise/ (noise_test checks them on the CPU forever)
#   vllm_mrv2_triton_<gpu>.txt     vLLM Model Runner V2 noise rows from Triton's own kernels on the
#                                  device, every variant -> commit to tests/data/noise/
#   noise_cuda_check.log           fssl's GPU noise kernel against torch's exponential_, bit for bit
#   score_cuda_check.log           the fused CUDA scorer against the CPU reference, element for
#                                  element, every Gumbel-max profile, V up to 262,144; its throughput
#   nccl.log                       the NCCL communicator (one rank per GPU)
#   bench_prefill.json, gpu_anchor.json   fssl's packed prefill of a Llama-3.1-8B-shaped model in
#                                  bf16 and transformers' forward on the same GPU (docs/performance.md)
# The programs come from a bundle built elsewhere (FSSL_GPU_BUNDLE=DIR, tools/gpu_bundle.sh: for
# images without MPI-HDF5 development packages) or are built here with CMake (FSSL_GPU_BUILD_DIR).
# FSSL_GPU_ANCHORS=0 skips transformers' forward; FSSL_GPU_CAPTURE=0 the row capture;
# FSSL_GPU_EXTRA=1 adds tests/gpu/lg2_model_bound.cu (the CPU model of the device's __logf over all
# 2^32 words, and logf_near_one_<gpu>.f32 for tests/data/noise/gen_logf_table.py; about a minute).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FSSL_GPU_BUILD_DIR:-$root/build-gpu}"
out="${OUT:-$build/out}"
mkdir -p "$build" "$out"
status=0
start=$(date +%s)
# GPU machines run commands as root; Open MPI refuses root (mpirun and singletons) unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
section() { echo "# --- [$(( $(date +%s) - start )) s] $*"; }
fail() { echo "# FAILED: $*"; status=1; }

section "machine and toolchain"
torch_lib="$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)"
# The CUDA libraries of the torch wheel (nvidia-* packages), for programs linked outside Python.
nvidia_libs="$(python3 - <<'EOF' 2>/dev/null
import glob, os, site
dirs = set()
for base in site.getsitepackages():
    for so in glob.glob(os.path.join(base, "nvidia", "**", "lib*.so*"), recursive=True):
        dirs.add(os.path.dirname(so))
print(":".join(sorted(dirs)))
EOF
)"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4
  nvcc --version 2>&1 | tail -1
  python3 -c 'import torch; p = torch.cuda.get_device_properties(0); print("# torch", torch.__version__, "cuda", torch.version.cuda, p.name, p.multi_processor_count, "SMs")'
  for tool in mpirun cmake ninja; do printf '# %-7s %s\n' "$tool" "$(command -v $tool || echo missing)"; done
} 2>&1 | tee "$out/probe.log"
gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | awk '{print tolower($2)}' | tr -cd 'a-z0-9')"
gpu_name="${gpu_name:-gpu}"

section "fssl GPU programs"
if [ -n "${FSSL_GPU_BUNDLE:-}" ]; then
  bin="$(cd "$FSSL_GPU_BUNDLE" && pwd)/bin"
  export LD_LIBRARY_PATH="$FSSL_GPU_BUNDLE/lib:$torch_lib:$nvidia_libs:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "# bundle $FSSL_GPU_BUNDLE: $(ls "$bin" | tr '\n' ' ')"
  for p in "$bin"/*; do ldd "$p" | grep 'not found' | sed "s|^|# $(basename "$p"): |"; done | sort -u | tee -a "$out/probe.log"
else
  bin="$build"
  torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)"
  if ! TORCH_CUDA_ARCH_LIST=9.0 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFSSL_BUILD_TESTS=OFF \
       -DFSSL_WITH_CUDA=ON -DFSSL_WITH_NCCL=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DFSSL_REQUIRE_PARALLEL_HDF5=OFF \
       -DCMAKE_PREFIX_PATH="$torch_prefix" >"$out/configure.log" 2>&1 ||
     ! cmake --build "$build" -j"$(nproc)" --target fssl fssl_score_cuda_check fssl_noise_cuda_check fssl_nccl_smoke fssl_nccl_comm_check \
       >"$out/build.log" 2>&1; then
    grep -E 'Could NOT|not found|error' "$out/configure.log" "$out/build.log" 2>/dev/null | head -20
    fail "build (logs: configure.log, build.log)"
  fi
fi

section "(a2) vLLM Model Runner V2 noise rows from Triton on the device (every variant)"
timeout 240 python3 "$root/tests/data/noise/capture_triton_mrv2_rows.py" > "$out/vllm_mrv2_triton_${gpu_name}.txt" 2> "$out/vllm_mrv2_triton.err"
[ $? -eq 0 ] && echo "# $(grep -vc '^#' "$out/vllm_mrv2_triton_${gpu_name}.txt") rows -> vllm_mrv2_triton_${gpu_name}.txt" ||
  { tail -5 "$out/vllm_mrv2_triton.err"; fail "Triton MRV2 capture"; }

section "(b) fused CUDA scorer against the CPU reference"
timeout 180 "$bin/fssl_score_cuda_check" 2>&1 | tee "$out/score_cuda_check.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "score_cuda_check"

section "(d) packed prefill of a Llama-3.1-8B-shaped model (bf16), fssl and transformers"
timeout 180 "$bin/fssl" bench prefill --device cuda --shape llama-8b --dtype bf16 --json 2>&1 | tee "$out/bench_prefill.json"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "fssl bench prefill"
section "(e) fssl audit --device cuda end to end on simulated traffic, next to the CPU audit"
work="$build/audit-e2e" && rm -rf "$work" && mkdir -p "$work"
# bf16 serving with vLLM's noise, its clients' logits processors (penalties, biases, min_tokens, bad
# words, allowed ids: processed on the device before the fused kernel) and a steganographic adversary
# on 5 % of the messages: the GPU audit (bf16 replay, fused scoring) and the CPU audit (fp32) must
# both flag exactly the adversary.
if "$bin/fssl" model init --arch llama --preset tiny --seed 1 --out "$work/model" >"$work/log" 2>&1 &&
   "$bin/fssl" simulate --model "$work/model" --out "$work/archive" --messages 200 --max-tokens 64 --servers 4 \
     --seed 1 --threads 8 --dtype bf16 --profile vllm-cuda:sm_count=132 --processors random --stop-tokens 1,2 \
     --adversary topk-stego \
     --adversary-fraction 0.05 >>"$work/log" 2>&1; then
  for dev in cuda cpu; do
    timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$bin/fssl" audit --archive "$work/archive" --model "$work/model" \
      --out "$work/audit-$dev" --sample 200 --device "$dev" --threads 8 >>"$work/log" 2>&1
    echo "# fssl audit --device $dev: exit $?"
  done
  python3 - "$work" <<'EOF2' || fail "GPU audit"
import json, sys
work = sys.argv[1]
adversarial = {j["message_id"] for j in map(json.loads, open(work + "/archive.truth.jsonl")) if j["adversarial"]}
ok = True
for dev in ("cuda", "cpu"):
    s = json.load(open("%s/audit-%s/summary.json" % (work, dev)))
    flagged = {m["message_id"] for m in s["flagged_messages"]}
    g, t = s["gumbel_max"], s["timing"]
    same = flagged == adversarial
    ok &= same
    print("%-4s exit %d, exact-match rate %.4f over %d tokens, flagged %d (adversarial %d, equal: %s), "
          "%.0f verified tok/s" % (dev, s["exit_code"], g["exact_rate"], t["output_tokens_verified"], len(flagged),
                                   len(adversarial), same, t["verified_tokens_per_second"]))
sys.exit(0 if ok else 1)
EOF2
else
  tail -5 "$work/log"; fail "model init / simulate"
fi

section "(c) NCCL communicator, one rank per GPU"
n_gpus="$(nvidia-smi -L 2>/dev/null | wc -l)"
launcher=()
if command -v mpirun >/dev/null; then launcher=(mpirun --allow-run-as-root --oversubscribe -np "${n_gpus:-1}"); fi
for check in fssl_nccl_smoke fssl_nccl_comm_check; do
  timeout 60 "${launcher[@]}" "$bin/$check" 2>&1 | tee -a "$out/nccl.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "$check"
done

gpu_rows="$out/vllm_cuda_golden_${gpu_name}.txt"
if [ "${FSSL_GPU_CAPTURE:-1}" != 0 ]; then
  section "(a) vllm-cuda rows from torch CUDA generators"
  if timeout 120 python3 "$root/tests/data/noise/capture_vllm_cuda_rows.py" >"$gpu_rows"; then
    echo "# captured $(grep -c '^case' "$gpu_rows") cases into $(basename "$gpu_rows")"
  else
    fail "row capture"; rm -f "$gpu_rows"
  fi
fi
section "(a) fssl's vllm-cuda GPU kernel against torch's exponential_, bit for bit"
goldens=("$root"/tests/data/noise/vllm_cuda_golden_*.txt)
[ -f "$gpu_rows" ] && goldens+=("$gpu_rows")
rm -rf "$build/torch_rows" && mkdir -p "$build/torch_rows"
if timeout 120 python3 - "$build/torch_rows" "${goldens[@]}" <<'EOF'
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
  timeout 120 "$bin/fssl_noise_cuda_check" --torch-dir "$build/torch_rows" "${goldens[@]}" 2>&1 | tee "$out/noise_cuda_check.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "noise_cuda_check"
else
  fail "torch row dump"
fi

if [ "${FSSL_GPU_ANCHORS:-1}" != 0 ]; then
  PYTHONUNBUFFERED=1 timeout 150 python3 "$root/tools/bench_gpu_anchor.py" >"$out/gpu_anchor.json" 2>"$out/anchor.err" &&
    cat "$out/gpu_anchor.json" || { tail -20 "$out/anchor.err"; fail "transformers anchor"; }
fi
if [ "${FSSL_GPU_EXTRA:-0}" = 1 ]; then
  section "(extra) CPU lg2 model against the device's __logf over all 2^32 words"
  nvcc -std=c++17 -O2 -arch=sm_90 "$root/tests/gpu/lg2_model_bound.cu" -o "$build/lg2_model_bound" &&
    timeout 120 "$build/lg2_model_bound" "$out/logf_near_one_${gpu_name}.f32" || fail "lg2_model_bound"
fi
section "done: status $status"
exit "$status"
