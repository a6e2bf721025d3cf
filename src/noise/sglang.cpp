// SGLang's seeded sampler noise (noise.h: murmur3_key_hash, noise_rows_sglang): the hash of
// python/sglang/srt/layers/utils/hash.py, MurmurHash3_x86_32 with seed 0 over the 16 bytes
// [seed lo, seed hi, position, column] (little-endian 32-bit words), turned into Gumbel noise in
// float64 as multinomial_with_seed does. Pinned by tests/data/noise/sglang_murmur_golden.txt (the
// PyPI mmh3 package) and by the vector of sglang#25106.
#include <algorithm>
#include <cmath>
#include <limits>

#include "fssl/error.h"
#include "fssl/noise.h"
#include "noise/murmur3_key.h"

namespace fssl {
namespace {

// The uncapped bucket's +inf: still the row's winner, but margins and ranks stay finite.
constexpr float kInfiniteGumbel = 1e30f;

}  // namespace

std::uint32_t murmur3_key_hash(std::uint32_t domain, std::uint64_t seed, std::uint64_t position, std::uint32_t column) {
  return murmur3_key16(domain, seed, position, column);
}

double sglang_gumbel(SglangNoise variant, std::uint32_t hash) {
  // u = hash / (2^32 - 1) in float64 (so 0 and 1 both occur), t = log u clamped below at -DBL_MAX
  // (u = 0), and G = -log(-t). Uncapped, hash 0xffffffff gives t = 0 and G = +inf (sglang#25106);
  // sglang#33423 caps t at -2^-32, so that bucket gets G = 32 ln 2.
  const double u = static_cast<double>(hash) / 4294967295.0;
  double t = std::max(std::log(u), std::numeric_limits<double>::lowest());
  if (variant == SglangNoise::kMurmur3Capped) t = std::min(t, -0x1p-32);
  return -std::log(-t);
}

namespace {

float sglang_row_value(SglangNoise variant, std::uint64_t seed, std::uint64_t position, std::uint32_t column) {
  const double g = sglang_gumbel(variant, murmur3_key16(0, seed, position, column));
  return g == std::numeric_limits<double>::infinity() ? kInfiniteGumbel : static_cast<float>(g);
}

void check_sglang_rows(std::int64_t first_position, std::int64_t n_rows, std::int64_t vocab_begin, std::int64_t n_cols) {
  FSSL_CHECK(first_position >= 0 && n_rows >= 0 && vocab_begin >= 0 && n_cols >= 0 &&
                 vocab_begin + n_cols <= (std::int64_t{1} << 32),
             ReplayError, "sglang noise: bad rows (position {}, {} rows, columns [{}, +{}))", first_position, n_rows,
             vocab_begin, n_cols);
}

}  // namespace

void noise_rows_sglang(SglangNoise variant, std::uint64_t seed, std::int64_t first_position, std::int64_t n_rows,
                       std::int64_t vocab_begin, std::int64_t n_cols, float* out) {
  check_sglang_rows(first_position, n_rows, vocab_begin, n_cols);
  for (std::int64_t r = 0; r < n_rows; ++r) {
    const auto position = static_cast<std::uint64_t>(first_position + r);
    float* row = out + r * n_cols;
    for (std::int64_t c = 0; c < n_cols; ++c) {
      row[c] = sglang_row_value(variant, seed, position, static_cast<std::uint32_t>(vocab_begin + c));
    }
  }
}

void noise_rows_sglang_keyed(SglangNoise variant, std::uint64_t seed, std::int64_t first_position, std::int64_t n_rows,
                             std::int64_t n_cols, const std::int64_t* keys, float* out) {
  check_sglang_rows(first_position, n_rows, 0, n_cols);
  for (std::int64_t i = 0; i < n_rows * n_cols; ++i) {
    FSSL_CHECK(keys[i] >= 0 && keys[i] < (std::int64_t{1} << 32), ReplayError, "sglang noise: key {} out of range",
               keys[i]);
    const auto position = static_cast<std::uint64_t>(first_position + i / std::max<std::int64_t>(n_cols, 1));
    out[i] = sglang_row_value(variant, seed, position, static_cast<std::uint32_t>(keys[i]));
  }
}

}  // namespace fssl
