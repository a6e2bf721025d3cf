// One element of a vllm-cuda noise row on the device, shared by the noise kernel
// (noise/vllm_cuda.cu) and the fused scorer (scoring/fused_cuda.cu): the Philox words of PyTorch's
// exponential_ kernel at the element's (thread, pass) position, then curand_uniform and __logf
// exactly as at::transformation::exponential<float> compiles on the device. CUDA only.
#pragma once
#include <cfloat>
#include <cstdint>

#include "../contrib/fssl_philox/fssl_philox.h"
#include "noise/vllm_layout.h"

namespace fssl {

// E of element `column` of noise row `row` (the row's emitted-token index) for a layout
// (noise/vllm_layout.h) and seed.
__device__ inline float vllm_cuda_exp1(std::uint64_t seed, std::uint64_t stride, std::uint64_t blocks_per_row,
                                       std::uint64_t row, std::uint64_t column) {
  const VllmCudaElement e = vllm_cuda_element(column, stride);
  const std::uint64_t n = row * blocks_per_row + e.block_offset;
  const auto words = fssl_philox::philox4x32_10(
      {static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(n >> 32), static_cast<std::uint32_t>(e.thread),
       static_cast<std::uint32_t>(e.thread >> 32)},
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  // curand_uniform: the product by 2^-32 is exact, so the FMA nvcc forms rounds once, like the CPU.
  const float u = static_cast<float>(words[e.word]) * 0x1p-32f + 0x1p-33f;
  // at::transformation::exponential<float>: log = -eps/2 at or above 1 - eps/2, else at::log,
  // which is __logf on the device (ATen NumericUtils.h); times -1 / lambda with lambda = 1.
  constexpr float kHalfEps = FLT_EPSILON / 2;
  return u >= 1.0f - kHalfEps ? kHalfEps : -__logf(u);
}

}  // namespace fssl
