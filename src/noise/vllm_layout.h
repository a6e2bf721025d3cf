// The launch geometry of PyTorch's CUDA exponential_ kernel for one vocabulary row, shared by the
// CPU reproduction (noise/philox.cpp) and fssl's own GPU kernel (noise/vllm_cuda.cu). Plain C++, no
// dependencies, so the CUDA translation unit needs nothing but the CUDA toolkit.
#pragma once
#include <algorithm>
#include <cstdint>

namespace fssl {

struct VllmCudaLayout {
  std::uint64_t stride = 0;          // S: threads in the launch, 256 * grid
  std::uint64_t blocks_per_row = 0;  // Philox blocks the generator offset advances per row
};

// calc_execution_policy (cuda/DistributionTemplates.h): block 256, grid = min(ceil(V / 256),
// sm_count * (max_threads_per_sm / 256)) computed in uint32 as PyTorch does; each thread draws
// curand_uniform4 per grid-stride pass, so the offset advances by ceil(V / (4 S)) blocks per row.
// REQUIRES: sm_count >= 1, max_threads_per_sm >= 256, vocab_size >= 1 (callers check).
inline VllmCudaLayout vllm_cuda_layout(std::int64_t sm_count, std::int64_t max_threads_per_sm,
                                       std::int64_t vocab_size) {
  constexpr std::uint64_t kBlock = 256;
  constexpr std::uint64_t kUnroll = 4;  // float4 from curand_uniform4
  const std::uint64_t numel = static_cast<std::uint64_t>(vocab_size);
  const std::uint32_t blocks_per_sm = static_cast<std::uint32_t>(max_threads_per_sm) / 256u;
  const std::uint32_t grid_cap = static_cast<std::uint32_t>(sm_count) * blocks_per_sm;
  const std::uint64_t grid = std::min<std::uint64_t>((numel + kBlock - 1) / kBlock, grid_cap);
  VllmCudaLayout layout;
  layout.stride = kBlock * grid;
  layout.blocks_per_row = (numel - 1) / (layout.stride * kUnroll) + 1;
  return layout;
}

// Element i of a row: thread i % S, grid-stride pass i / S, which reads word pass % 4 of the
// thread's Philox block row_block + pass / 4.
struct VllmCudaElement {
  std::uint64_t thread;
  std::uint64_t block_offset;
  unsigned word;
};
#if defined(__CUDACC__)
__host__ __device__
#endif
inline VllmCudaElement vllm_cuda_element(std::uint64_t i, std::uint64_t stride) {
  const std::uint64_t pass = i / stride;
  return {i % stride, pass / 4, static_cast<unsigned>(pass % 4)};
}

}  // namespace fssl
