// vllm-cuda noise rows computed on the GPU (FSSL_WITH_CUDA builds only).
//
// noise_rows_vllm_cuda (noise.h) reproduces PyTorch's CUDA exponential_ on the CPU: its uniforms are
// bit-exact, but E = -__logf(u) goes through the GPU's lg2.approx, which the CPU can only model
// (within 2^-21). This kernel draws the same Philox words and applies the same __logf instruction,
// so on an NVIDIA GPU its rows equal torch's `exponential_` rows bit for bit (tests/gpu/run.sh
// checks it against torch on the machine). Same element layout and arguments as the CPU version.
//
// Thread/rank expectations: any host thread; asynchronous on `stream`. Include only from CUDA-aware
// translation units (needs cuda_runtime_api.h).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace fssl {

// Writes rows [first_row, first_row + n_rows) x columns [vocab_begin, vocab_begin + n_cols) of the
// profile `vllm-cuda:sm_count=...,max_threads_per_sm=...` for `seed` into `out_device`
// ([n_rows, n_cols] float32, row-major, device memory). Returns cudaErrorInvalidValue for
// arguments outside the CPU version's contract (no launch), else the launch status; the caller
// checks it with FSSL_CUDA_CHECK (comm/nccl_owner.h).
cudaError_t noise_rows_vllm_cuda_device(std::uint64_t seed, std::int64_t sm_count, std::int64_t max_threads_per_sm,
                                        std::int64_t vocab_size, std::int64_t first_row, std::int64_t n_rows,
                                        std::int64_t vocab_begin, std::int64_t n_cols, float* out_device,
                                        cudaStream_t stream);

}  // namespace fssl
