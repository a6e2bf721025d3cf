// Measures, over every 32-bit Philox word, how far fssl's CPU model of the vllm-cuda noise
// (noise/philox.cpp: E = -RN32(RN32(log2 u) * RN32(ln 2)), log2 correctly rounded) lies from the
// device's E = -__logf(u) (lg2.approx), so docs/sampler-spec.md can state bounds that hold for all
// inputs rather than for sampled ones: the ULP-distance histogram and, for u below 1 - 2^-k, the
// largest |E_gpu - E_model| / E_gpu (which bounds the Gumbel error |dG| = |d ln E|). With an output
// path, also writes the device's E for every float u in [1 - 2^-8, 1) (65,536 float32, ascending u),
// the region where E is tiny and the hardware's absolute error is large relative to E.
// Run by tests/gpu/run.sh with FSSL_GPU_EXTRA=1; needs a GPU (prints SKIP without one).
#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

constexpr int kNumCutoffs = 6;  // u < 1 - 2^-(8 + 2k), k < kNumCutoffs

__device__ float model_exponential(float u) {
  return -(static_cast<float>(log2(static_cast<double>(u))) * 0x1.62e430p-1f);
}

__global__ void compare_all_words(unsigned long long* histogram, float* max_rel_below) {
  const std::uint64_t n_threads = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  unsigned long long local_hist[4] = {0, 0, 0, 0};
  float local_rel[kNumCutoffs] = {};
  for (std::uint64_t x = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; x < (1ull << 32);
       x += n_threads) {
    const float u = static_cast<float>(static_cast<std::uint32_t>(x)) * 0x1p-32f + 0x1p-33f;
    if (u >= 1.0f - FLT_EPSILON / 2) continue;  // both take E = 2^-24 there
    const float gpu = -__logf(u);
    const float model = model_exponential(u);
    const int a = __float_as_int(gpu), b = __float_as_int(model);
    const unsigned ulps = static_cast<unsigned>(a > b ? a - b : b - a);
    ++local_hist[ulps < 3 ? ulps : 3];
    const float rel = fabsf(gpu - model) / gpu;
    for (int k = 0; k < kNumCutoffs; ++k) {
      if (u < 1.0f - ldexpf(1.0f, -(8 + 2 * k))) local_rel[k] = fmaxf(local_rel[k], rel);
    }
  }
  for (int k = 0; k < 4; ++k) atomicAdd(&histogram[k], local_hist[k]);
  for (int k = 0; k < kNumCutoffs; ++k) {
    atomicMax(reinterpret_cast<int*>(&max_rel_below[k]), __float_as_int(local_rel[k]));  // floats >= 0 order as ints
  }
}

__global__ void near_one(float* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < 65536) out[i] = -__logf(1.0f - 0x1p-8f + static_cast<float>(i) * 0x1p-24f);
}

}  // namespace

int main(int argc, char** argv) {
  int n_devices = 0;
  if (cudaGetDeviceCount(&n_devices) != cudaSuccess || n_devices == 0) {
    std::printf("SKIP: no usable CUDA device\n");
    return 0;
  }
  // Plain device allocations (never managed memory on the lent machines), read back once.
  unsigned long long* histogram = nullptr;
  float* max_rel = nullptr;
  float* table = nullptr;
  cudaMalloc(&histogram, 4 * sizeof(unsigned long long));
  cudaMalloc(&max_rel, kNumCutoffs * sizeof(float));
  cudaMalloc(&table, 65536 * sizeof(float));
  cudaMemset(histogram, 0, 4 * sizeof(unsigned long long));
  cudaMemset(max_rel, 0, kNumCutoffs * sizeof(float));
  compare_all_words<<<4096, 256>>>(histogram, max_rel);
  near_one<<<256, 256>>>(table);
  unsigned long long hist[4] = {0, 0, 0, 0};
  float rel[kNumCutoffs] = {};
  std::vector<float> host(65536);
  if (cudaDeviceSynchronize() != cudaSuccess ||
      cudaMemcpy(hist, histogram, sizeof(hist), cudaMemcpyDeviceToHost) != cudaSuccess ||
      cudaMemcpy(rel, max_rel, sizeof(rel), cudaMemcpyDeviceToHost) != cudaSuccess ||
      cudaMemcpy(host.data(), table, 65536 * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess) {
    std::printf("kernel failed: %s\n", cudaGetErrorString(cudaGetLastError()));
    return 1;
  }
  const double total = static_cast<double>(hist[0] + hist[1] + hist[2] + hist[3]);
  std::printf("lg2 model vs device __logf over all 2^32 words: identical %.4f%%, 1 ulp %.4f%%, 2 ulp %.4f%%, "
              ">2 ulp %.6f%%\n",
              100.0 * hist[0] / total, 100.0 * hist[1] / total, 100.0 * hist[2] / total, 100.0 * hist[3] / total);
  for (int k = 0; k < kNumCutoffs; ++k) {
    std::printf("  u < 1 - 2^-%d: max |E_gpu - E_model| / E_gpu = %.3g\n", 8 + 2 * k, static_cast<double>(rel[k]));
  }
  if (argc > 1) {
    FILE* f = std::fopen(argv[1], "wb");
    if (f == nullptr || std::fwrite(host.data(), 4, host.size(), f) != host.size()) return 1;
    std::fclose(f);
    std::printf("wrote %s: -__logf(u) for u = 1 - 2^-8 + i 2^-24, i < 65536\n", argv[1]);
  }
  return 0;
}
