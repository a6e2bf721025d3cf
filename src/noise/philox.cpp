// Philox-based noise rows (noise.h): Philox4x32-10 itself, the vllm-cuda reproduction of PyTorch's
// CUDA exponential_ kernel, and fssl-philox through the header-only contrib implementation.
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>

#include "../contrib/fssl_philox/fssl_philox.h"
#include "fssl/error.h"
#include "fssl/noise.h"
#include "noise/vllm_layout.h"

namespace fssl {
namespace {

void check_slice(std::int64_t first_row, std::int64_t n_rows, std::int64_t vocab_begin, std::int64_t n_cols,
                 const float* out) {
  FSSL_CHECK(first_row >= 0 && n_rows >= 0, ReplayError, "noise rows: bad row range first_row={} n_rows={}",
             first_row, n_rows);
  FSSL_CHECK(vocab_begin >= 0 && n_cols >= 0, ReplayError, "noise rows: bad column range vocab_begin={} n_cols={}",
             vocab_begin, n_cols);
  FSSL_CHECK(out != nullptr || n_rows * n_cols == 0, ReplayError, "noise rows: null output");
}

// curand_uniform (curand_uniform.h _curand_uniform): x * 2^-32 + 2^-32 / 2 in float. The uint32 ->
// float conversion rounds to nearest even; the product by 2^-32 is exact, so with or without FMA
// contraction the single rounding is the final add, and words near 2^32 give exactly 1.0f.
float curand_uniform_from_word(std::uint32_t x) {
  return static_cast<float>(x) * 0x1p-32f + 0x1p-33f;
}

#include "noise/vllm_logf_table.inc"

static_assert(kLogfTableBits == 12 && std::size(kLogfNearOne) == std::size_t{1} << kLogfTableBits,
              "the table covers u in [1 - 2^-12, 1) at spacing 2^-24");

}  // namespace

// at::transformation::exponential<float> on CUDA (TransformationHelper.h): values at or above
// 1 - eps/2 take log = -eps/2; otherwise at::log<float>, which is __logf on the device
// (NumericUtils.h): lg2.approx.f32 times ln2 rounded to float, then an exact negation (lambda = 1).
// The hardware lg2 is not correctly rounded and its absolute error is large relative to E for u
// near 1, where E is tiny and the sampled token most often lives: there (u >= 1 - 2^-12) the
// device's own bits come from a table captured on an H100. Below it a correctly rounded log2f
// models lg2.approx to within 2.1e-4 relative in E over all 2^32 words (tests/gpu/lg2_model_bound.cu).
float noise_exponential_vllm_cuda(float u) {
  constexpr float kHalfEps = std::numeric_limits<float>::epsilon() / 2;
  if (u >= 1.0f - kHalfEps) return kHalfEps;
  constexpr float kTableStart = 1.0f - 0x1p-12f;
  if (u >= kTableStart) {
    // u is a multiple of 2^-24 here and the subtraction is exact (Sterbenz), so is the index.
    const auto index = static_cast<std::size_t>((u - kTableStart) * 0x1p24f);
    float e = 0.0f;
    std::memcpy(&e, &kLogfNearOne[index], sizeof e);
    return e;
  }
  const float lg2 = static_cast<float>(std::log2(static_cast<double>(u)));
  const float ln = lg2 * 0x1.62e430p-1f;  // CUDART_LN2_F, the float nearest ln 2
  return -ln;
}

std::array<std::uint32_t, 4> philox4x32_10(const std::array<std::uint32_t, 4>& counter,
                                           const std::array<std::uint32_t, 2>& key) {
  return fssl_philox::philox4x32_10(counter, key);
}

void noise_rows_vllm_cuda(std::uint64_t seed, std::int64_t sm_count, std::int64_t max_threads_per_sm,
                          std::int64_t vocab_size, std::int64_t first_row, std::int64_t n_rows,
                          std::int64_t vocab_begin, std::int64_t n_cols, float* out) {
  check_slice(first_row, n_rows, vocab_begin, n_cols, out);
  FSSL_CHECK(sm_count >= 1 && sm_count <= std::numeric_limits<std::int32_t>::max(), ReplayError,
             "vllm-cuda: bad sm_count {}", sm_count);
  FSSL_CHECK(max_threads_per_sm >= 256 && max_threads_per_sm <= std::numeric_limits<std::int32_t>::max(),
             ReplayError, "vllm-cuda: max_threads_per_sm {} must be >= 256 (the kernel's block size)",
             max_threads_per_sm);
  FSSL_CHECK(vocab_size >= 1 && vocab_begin + n_cols <= vocab_size, ReplayError,
             "vllm-cuda: columns [{}, {}) outside the vocabulary of {}", vocab_begin, vocab_begin + n_cols,
             vocab_size);
  const VllmCudaLayout layout = vllm_cuda_layout(sm_count, max_threads_per_sm, vocab_size);
  const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};

  for (std::int64_t r = 0; r < n_rows; ++r) {
    const std::uint64_t row_block = static_cast<std::uint64_t>(first_row + r) * layout.blocks_per_row;
    float* dst = out + r * n_cols;
    for (std::int64_t c = 0; c < n_cols; ++c) {
      const VllmCudaElement e = vllm_cuda_element(static_cast<std::uint64_t>(vocab_begin + c), layout.stride);
      const std::uint64_t n = row_block + e.block_offset;
      const auto words = fssl_philox::philox4x32_10(
          {static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(n >> 32), static_cast<std::uint32_t>(e.thread),
           static_cast<std::uint32_t>(e.thread >> 32)},
          key);
      dst[c] = noise_exponential_vllm_cuda(curand_uniform_from_word(words[e.word]));
    }
  }
}

void noise_rows_fssl_philox(std::uint64_t seed, std::int64_t first_row, std::int64_t n_rows,
                            std::int64_t vocab_begin, std::int64_t n_cols, float* out) {
  check_slice(first_row, n_rows, vocab_begin, n_cols, out);
  FSSL_CHECK(vocab_begin + n_cols <= (std::int64_t{1} << 34), ReplayError,
             "fssl-philox: token index {} beyond the 2^34 the counter layout carries", vocab_begin + n_cols);
  for (std::int64_t r = 0; r < n_rows; ++r) {
    fssl_philox::exp1_row(seed, static_cast<std::uint64_t>(first_row + r), static_cast<std::uint64_t>(vocab_begin),
                          static_cast<std::size_t>(n_cols), out + r * n_cols);
  }
}

float noise_gumbel_fssl_philox(float exp1) {
  FSSL_CHECK(exp1 > 0.0f && std::isfinite(exp1), ReplayError, "fssl-philox: E = {} is not a noise value", exp1);
  return fssl_philox::gumbel_from_exp1(exp1);
}

}  // namespace fssl
