// The fused Gumbel-max scorer (fssl/scoring_fused.h) as a CUDA kernel: one thread block per row, the
// row's noise regenerated in each pass (vllm-cuda on the fly, bit-exact with torch's
// exponential_), so no [rows x vocab] intermediate is written. Raw device pointers in and out,
// no libtorch: FSSL_WITH_CUDA builds compile it against the CUDA toolkit alone.
//
// Thread/rank expectations: any host thread; asynchronous on `stream`. Include only from
// CUDA-aware translation units (needs cuda_runtime_api.h).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "fssl/scoring_row_params.h"

namespace fssl {

// Where a row's Exp(1) noise E and Gumbel noise G come from.
struct FusedNoiseSource {
  enum class Kind {
    kExplicit,  // e (and g, or nullptr for -logf(E)) [n_rows, ld] float32 device arrays
    kVllmCuda,  // generated: profile vllm-cuda:sm_count=...,max_threads_per_sm=... for seed, rows
                // first_row + r; G = -logf(E)
    kVllmMrv2,  // generated: vllm-mrv2 noise `variant` (VllmMrv2Noise as int) for seed, row r at position
                // first_position + r; E = expf(-G)
    kSglang,    // generated: sglang noise `variant` (SglangNoise as int), positions as kVllmMrv2
  };
  Kind kind = Kind::kExplicit;
  const float* e = nullptr;
  const float* g = nullptr;
  std::int64_t ld = 0;
  std::uint64_t seed = 0;
  std::int64_t sm_count = 0, max_threads_per_sm = 2048, first_row = 0;
  int variant = 0;
  std::int64_t first_position = 0;
};

// Scores rows r < n_rows of logits_device ([n_rows, ld] float32, the first `vocab` columns real)
// against claimed_device[r] (int64) into results_device[r]. Rows with a claimed id outside
// [0, vocab) get status kRowBadClaim; rows the fused path does not take kRowTopPOverflow (score
// them on the CPU path). Returns cudaErrorInvalidValue for bad arguments (no launch), else the
// launch status.
cudaError_t score_rows_cuda(const float* logits_device, std::int64_t ld, std::int64_t n_rows, std::int64_t vocab,
                            const std::int64_t* claimed_device, const FusedNoiseSource& noise,
                            const fused::RowParams& params, fused::RowResult* results_device, cudaStream_t stream);

// g[i] = -logf(e[i]) for n elements: the G the fused kernel derives from an explicit or generated
// E, for callers that hand the same G to the CPU reference.
cudaError_t neg_log_cuda(const float* e_device, float* g_device, std::int64_t n, cudaStream_t stream);

}  // namespace fssl
