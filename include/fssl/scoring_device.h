// Gumbel-max scoring of logits that live on a GPU (tensor-parallel size 1): the fused CUDA kernel
// (fssl/scoring_cuda.h) in FSSL_WITH_CUDA builds, with the noise regenerated on the device for vllm-cuda
// and uploaded from fssl's CPU generators for the other Gumbel-max profiles. Rows the kernel hands
// back (fssl/scoring_fused.h: a top-p boundary among too many near-equal survivors) are scored on the CPU
// path with the same noise. Results equal score_gumbel_rows' (fssl/scoring_fused.h says to which bits).
//
// Thread/rank expectations: the calling rank's current CUDA device holds `logits`; runs on the
// default stream and returns when the scores are on the host.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "fssl/sampler_profile.h"
#include "fssl/scoring.h"

namespace fssl {

// Whether this build has the CUDA kernels (and so score_gumbel_rows_device).
bool fused_device_scoring_built();

// logits: [n, V] float32 on a CUDA device, V the whole vocabulary; claimed: [n] int64 (any
// device), rows first_row.. of the message whose noise `profile`, `seed` and prompt length define
// (profile_noise_rows). Gumbel-max
// profiles only. Throws ConfigError in builds without CUDA, ReplayError for bad shapes, CommError
// for CUDA failures.
ScoreBatch score_gumbel_rows_device(const at::Tensor& logits, const at::Tensor& claimed, const SamplerProfile& profile,
                                    std::uint64_t seed, std::int64_t prompt_len, std::int64_t first_row,
                                    const SamplerParams& params, const ScoreConfig& config);

}  // namespace fssl
