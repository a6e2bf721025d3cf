#!/usr/bin/env bash
# Builds fssl's CUDA configuration on this (GPU-less) Debian machine against a CUDA libtorch, and
# bundles the GPU programs with the Debian runtime libraries a GPU machine's image may lack, for
# GPU machines that cannot install packages (tests/gpu/run.sh runs a bundle: FSSL_GPU_BUNDLE=DIR).
#
#   tools/gpu_bundle.sh TORCH_DIR [OUT_DIR]
#
# TORCH_DIR: an unpacked PyTorch wheel of exactly the GPU machine's version (its torch/ folder,
# holding include/, lib/ and share/cmake/), e.g.
#   pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --platform manylinux_2_28_x86_64 torch==2.11.0 -d /tmp/torchwhl
#   unzip -q /tmp/torchwhl/torch-*.whl 'torch/include/*' 'torch/share/*' 'torch/lib/*' -d /tmp/torchwhl
# OUT_DIR (default .gpubundle/, ignored by git): bin/ with fssl and the GPU checks, lib/ with the
# libraries they need that are neither glibc, libstdc++, CUDA, NCCL, libtorch nor Open MPI (those
# come from the GPU machine: its torch wheel, its CUDA runtime, its MPI).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
torch_dir="${1:?usage: tools/gpu_bundle.sh TORCH_DIR [OUT_DIR]}"
out="${2:-$root/.gpubundle}"
build="${FSSL_BUNDLE_BUILD_DIR:-$root/build-gpubundle}"
lib="$torch_dir/lib"
[ -f "$torch_dir/share/cmake/Torch/TorchConfig.cmake" ] || { echo "no TorchConfig.cmake under $torch_dir/share/cmake" >&2; exit 2; }

# TorchConfig's find_library calls search the system first: Debian's CPU libtorch would win, so
# every torch library is named. The wheel's libtorch_cuda needs cuSPARSELt, NVSHMEM and cuFile,
# which come with its pip packages on the GPU machine, not here: the link leaves them unresolved. The wheel's CMake also adds nvcc flags for old GPUs this CUDA
# toolkit no longer compiles for: TORCH_CUDA_ARCH_LIST keeps Hopper only.
TORCH_CUDA_ARCH_LIST="9.0" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFSSL_BUILD_TESTS=OFF \
  -DFSSL_WITH_CUDA=ON -DFSSL_WITH_NCCL=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined \
  -DCMAKE_PREFIX_PATH="$torch_dir/share/cmake" -DTORCH_LIBRARY="$lib/libtorch.so" -Dc10_LIBRARY="$lib/libc10.so" \
  -Dtorch_cpu_LIBRARY="$lib/libtorch_cpu.so" -Dtorch_cuda_LIBRARY="$lib/libtorch_cuda.so" \
  -DC10_CUDA_LIBRARY="$lib/libc10_cuda.so" -DCAFFE2_NVRTC_LIBRARY="$lib/libcaffe2_nvrtc.so" >"$build.configure.log" 2>&1 ||
  { tail -30 "$build.configure.log"; exit 1; }
grep -E '^-- +\[' "$build.configure.log" || true
targets=(fssl fssl_score_cuda_check fssl_noise_cuda_check fssl_nccl_smoke fssl_nccl_comm_check)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" 2>&1 | grep -E 'error|Error' -A4 | head -40 || true
for t in "${targets[@]}"; do [ -x "$build/$t" ] || { echo "# gpu_bundle: $t was not built" >&2; exit 1; }; done

rm -rf "$out" && mkdir -p "$out/bin" "$out/lib"
for t in "${targets[@]}"; do cp "$build/$t" "$out/bin/"; done
# The runtime closure, minus what the GPU machine brings itself.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libresolv|libutil|libanl|libnsl|libstdc\+\+|libgcc_s|libtorch|libc10|libcaffe2|libcuda|libcudart|libnccl|libnv|libcublas|libcudnn|libcusparse|libcufft|libcurand|libcusolver|libcupti|libgomp|libmpi\.so|libopen-(pal|rte)|libhwloc|libevent|libshm)'
for t in "${targets[@]}"; do ldd "$out/bin/$t"; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    if ! [[ "$name" =~ $skip ]]; then cp -L "$path" "$out/lib/$name"; fi
  done
echo "# gpu_bundle: $(ls "$out/bin" | wc -l) programs, $(ls "$out/lib" | wc -l) libraries, $(du -sh "$out" | cut -f1) in $out"
