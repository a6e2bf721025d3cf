// Parameters and results of one row of fused Gumbel-max scoring (fssl/scoring_fused.h, fssl/scoring_cuda.h):
// plain structs without libtorch, shared by the CUDA kernel and the host code that fills and
// reads them.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define FSSL_ROW_PARAMS_HD __host__ __device__
#else
#define FSSL_ROW_PARAMS_HD
#endif

namespace fssl::fused {

constexpr int kMaxThresholds = 16;       // margin grid + the tier threshold
constexpr int kTopPCandidates = 4096;    // survivors a top-p boundary scan may hold

struct RowParams {
  float temperature = 1.0f;
  std::int32_t top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float log_min_p = 0.0f;            // std::log(min_p) in float32, as sampler_filter compares
  bool min_p_last = false;
  bool max_perturbed_rule = false;   // fssl-philox: the server emits argmax z
  bool scaled_plus_rule = false;     // vllm-mrv2, sglang: the server emits argmax RN(s + G)
  int n_thresholds = 0;              // ascending, <= kMaxThresholds
  float thresholds[kMaxThresholds] = {};
  FSSL_ROW_PARAMS_HD bool greedy() const { return temperature < 1e-5f; }
};

enum RowStatus : int { kRowOk = 0, kRowTopPOverflow = 1, kRowBadClaim = 2 };

struct RowResult {
  std::int64_t choice = -1;      // the token the server emits under its rule
  std::int64_t logit_rank = 0;
  std::int64_t gumbel_rank = 0;  // -1: y filtered
  float margin = 0.0f;
  float prob = 0.0f;
  std::int64_t counts[kMaxThresholds] = {};  // admissible-set size per ascending threshold
  int status = kRowOk;
};

}  // namespace fssl::fused
