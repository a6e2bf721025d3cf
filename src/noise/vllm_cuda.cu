// vllm-cuda noise rows on the GPU (noise_cuda.h): the Philox words of PyTorch's exponential_ kernel
// at each element's (thread, pass) position, then curand_uniform and __logf exactly as
// at::transformation::exponential<float> compiles on the device. One GPU thread per output element
// rather than PyTorch's grid-stride loop: the element -> (subsequence, offset) map (noise/vllm_layout.h)
// is what fixes the values, so any slice of columns (a tensor-parallel shard) is computed directly.
#include <limits>

#include "fssl/noise_cuda.h"
#include "noise/vllm_device.cuh"

namespace fssl {
namespace {

__global__ void vllm_exponential_rows(std::uint64_t seed, std::uint64_t stride, std::uint64_t blocks_per_row,
                                      std::int64_t first_row, std::int64_t n_rows, std::int64_t vocab_begin,
                                      std::int64_t n_cols, float* out) {
  const std::int64_t total = n_rows * n_cols;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += step) {
    const std::int64_t r = k / n_cols;
    out[k] = vllm_cuda_exp1(seed, stride, blocks_per_row, static_cast<std::uint64_t>(first_row + r),
                            static_cast<std::uint64_t>(vocab_begin + k % n_cols));
  }
}

}  // namespace

cudaError_t noise_rows_vllm_cuda_device(std::uint64_t seed, std::int64_t sm_count, std::int64_t max_threads_per_sm,
                                        std::int64_t vocab_size, std::int64_t first_row, std::int64_t n_rows,
                                        std::int64_t vocab_begin, std::int64_t n_cols, float* out_device,
                                        cudaStream_t stream) {
  constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
  if (sm_count < 1 || sm_count > kInt32Max || max_threads_per_sm < 256 || max_threads_per_sm > kInt32Max ||
      vocab_size < 1 || first_row < 0 || n_rows < 0 || vocab_begin < 0 || n_cols < 0 ||
      vocab_begin + n_cols > vocab_size || (out_device == nullptr && n_rows * n_cols > 0)) {
    return cudaErrorInvalidValue;
  }
  const std::int64_t total = n_rows * n_cols;
  if (total == 0) return cudaSuccess;
  const VllmCudaLayout layout = vllm_cuda_layout(sm_count, max_threads_per_sm, vocab_size);
  constexpr int kBlock = 256;
  const std::int64_t blocks = std::min<std::int64_t>((total + kBlock - 1) / kBlock, 65536);
  vllm_exponential_rows<<<static_cast<unsigned>(blocks), kBlock, 0, stream>>>(
      seed, layout.stride, layout.blocks_per_row, first_row, n_rows, vocab_begin, n_cols, out_device);
  return cudaGetLastError();
}

}  // namespace fssl
