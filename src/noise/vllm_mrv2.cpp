// vLLM Model Runner V2's Gumbel noise (noise.h: noise_rows_vllm_mrv2, noise_rows_vllm_mrv2_fp64),
// every variant vLLM shipped (docs/sampler-spec.md §7 gives the release ranges). The Philox variants
// key the noise of vocabulary column i at the sampled position p by two Triton draws: the row seed
// s = tl.randint(seed, p) (a uint32, zero-extended to the key of the second draw) and the column's
// uniform from Philox(s, i); the Murmur3 variants hash (seed, p, i) (vllm_murmur3.cpp). Counter-based:
// any column range of any row is generated directly, so each tensor-parallel rank makes only its own
// columns.
#include <algorithm>
#include <cmath>

#include "fssl/error.h"
#include "fssl/noise.h"
#include "noise/murmur3_key.h"

namespace fssl {
namespace {

void check_rows(std::int64_t first_position, std::int64_t n_rows, std::int64_t vocab_begin, std::int64_t n_cols) {
  FSSL_CHECK(first_position >= 0 && n_rows >= 0 && vocab_begin >= 0 && n_cols >= 0 &&
                 vocab_begin + n_cols <= (std::int64_t{1} << 31),
             ReplayError, "vllm-mrv2 noise: bad rows (position {}, {} rows, columns [{}, +{}))", first_position, n_rows,
             vocab_begin, n_cols);
}

// The smallest uniform each float32 variant lets through (tl.maximum with a float32 constant).
constexpr float kClamp1e7 = 1e-7f;                  // vllm#34854
constexpr float kClampTiny = 0x1p-126f;             // vllm#41775: _FP32_TINY
constexpr float kClampRandMin = 4.6566127342e-10f;  // _TL_RAND_MIN, rounds to 0x2fffffff

float gumbel_fp32(VllmMrv2Noise variant, float u) {
  switch (variant) {
    case VllmMrv2Noise::kFp64Eps20: {
      // Early V2: the uniform widened to float64, -log(-log(u + 1e-20) + 1e-20) in float64, then
      // stored as float32 (the addition to the logits and the argmax are float32).
      const double r = static_cast<double>(u);
      return static_cast<float>(-std::log(-std::log(r + 1e-20) + 1e-20));
    }
    case VllmMrv2Noise::kFp32Log1e7:
      return -libdevice_logf(-libdevice_logf(std::max(u, kClamp1e7)));
    case VllmMrv2Noise::kFp32LogTiny:
      return -libdevice_logf(-libdevice_logf(std::max(u, kClampTiny)));
    case VllmMrv2Noise::kFp32Log1p:
      // The flipped transform: 1 - u is uniform too, and the winning tail sits at u -> 0 where
      // float32 resolves it (vllm#45996).
      return -libdevice_logf(-libdevice_log1pf(-std::max(u, kClampRandMin)));
    default:
      break;
  }
  FSSL_THROW(ReplayError, "vllm-mrv2 noise: variant {} has no float32 Philox rows", static_cast<int>(variant));
}

}  // namespace

double triton_rand64_open(std::uint64_t seed, std::uint64_t offset) {
  // tl_rand64: words 0 (low) and 1 (high) of one Philox block as a uint64, rounded to float64 and
  // scaled by 2^-64 (exact), kept off zero by DBL_MIN.
  const auto w = triton_randint4x(seed, offset);
  const std::uint64_t r = (static_cast<std::uint64_t>(w[1]) << 32) | w[0];
  return std::max(static_cast<double>(r) * 0x1p-64, 0x1p-1022);
}

void noise_rows_vllm_mrv2(VllmMrv2Noise variant, std::uint64_t seed, std::int64_t first_position, std::int64_t n_rows,
                          std::int64_t vocab_begin, std::int64_t n_cols, float* out) {
  check_rows(first_position, n_rows, vocab_begin, n_cols);
  FSSL_CHECK(!vllm_mrv2_fp64(variant), ReplayError,
             "vllm-mrv2 noise: the float64 variants have float64 rows (noise_rows_vllm_mrv2_fp64)");
  const bool murmur3 = variant == VllmMrv2Noise::kMurmur3 || variant == VllmMrv2Noise::kMurmur3Unfused;
  const bool fused = variant == VllmMrv2Noise::kMurmur3;
  for (std::int64_t r = 0; r < n_rows; ++r) {
    const auto position = static_cast<std::uint64_t>(first_position + r);
    const std::uint32_t row_seed = murmur3 ? 0u : triton_randint(seed, position);
    float* row = out + r * n_cols;
    for (std::int64_t c = 0; c < n_cols; ++c) {
      const auto column = static_cast<std::uint64_t>(vocab_begin + c);
      row[c] = murmur3 ? vllm_murmur3_gumbel(
                             vllm_murmur3_uniform(murmur3_key16(0, seed, position, static_cast<std::uint32_t>(column))),
                             fused)
                       : gumbel_fp32(variant, triton_rand(row_seed, column));
    }
  }
}

void noise_rows_vllm_mrv2_fp64(VllmMrv2Noise variant, std::uint64_t seed, std::int64_t first_position,
                               std::int64_t n_rows, std::int64_t vocab_begin, std::int64_t n_cols, double* out) {
  check_rows(first_position, n_rows, vocab_begin, n_cols);
  FSSL_CHECK(vllm_mrv2_fp64(variant), ReplayError, "vllm-mrv2 noise: variant {} has float32 rows",
             static_cast<int>(variant));
  const bool murmur3 = variant == VllmMrv2Noise::kMurmur3Fp64;
  for (std::int64_t r = 0; r < n_rows; ++r) {
    const auto position = static_cast<std::uint64_t>(first_position + r);
    const std::uint32_t row_seed = murmur3 ? 0u : triton_randint(seed, position);
    double* row = out + r * n_cols;
    for (std::int64_t c = 0; c < n_cols; ++c) {
      const auto column = static_cast<std::uint64_t>(vocab_begin + c);
      const auto key = static_cast<std::uint32_t>(column);
      const double u = murmur3 ? vllm_murmur3_uniform64(murmur3_key16(0, seed, position, key),
                                                        murmur3_key16(kMurmur3HighWordDomain, seed, position, key))
                               : triton_rand64_open(row_seed, column);
      row[c] = -std::log(-std::log(u));
    }
  }
}

}  // namespace fssl
