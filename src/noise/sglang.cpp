// SGLang's seeded sampler noise (noise.h: sglang_murmur_hash32, noise_rows_sglang): the hash of
// python/sglang/srt/layers/utils/hash.py, MurmurHash3_x86_32 with seed 0 over the 16 bytes
// [seed lo, seed hi, position, column] (little-endian 32-bit words), turned into Gumbel noise in
// float64 as multinomial_with_seed does. Pinned by tests/data/noise/sglang_murmur_golden.txt (the
// PyPI mmh3 package) and by the vector of sglang#25106.
#include <algorithm>
#include <cmath>
#include <limits>

#include "fssl/error.h"
#include "fssl/noise.h"

namespace fssl {
namespace {

// The uncapped bucket's +inf: still the row's winner, but margins and ranks stay finite.
constexpr float kInfiniteGumbel = 1e30f;

std::uint32_t rotl32(std::uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

std::uint32_t murmur_block(std::uint32_t h, std::uint32_t k) {
  k *= 0xcc9e2d51u;
  k = rotl32(k, 15);
  k *= 0x1b873593u;
  h ^= k;
  h = rotl32(h, 13);
  return h * 5u + 0xe6546b64u;
}

}  // namespace

std::uint32_t sglang_murmur_hash32(std::uint64_t seed, std::uint64_t position, std::uint32_t column) {
  std::uint32_t h = 0;
  h = murmur_block(h, static_cast<std::uint32_t>(seed));
  h = murmur_block(h, static_cast<std::uint32_t>(seed >> 32));
  h = murmur_block(h, static_cast<std::uint32_t>(position));  // SGLang keeps the low 32 bits
  h = murmur_block(h, column);
  h ^= 16u;  // length in bytes
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
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

void noise_rows_sglang(SglangNoise variant, std::uint64_t seed, std::int64_t first_position, std::int64_t n_rows,
                       std::int64_t vocab_begin, std::int64_t n_cols, float* out) {
  FSSL_CHECK(first_position >= 0 && n_rows >= 0 && vocab_begin >= 0 && n_cols >= 0 &&
                 vocab_begin + n_cols <= (std::int64_t{1} << 32),
             ReplayError, "sglang noise: bad rows (position {}, {} rows, columns [{}, +{}))", first_position, n_rows,
             vocab_begin, n_cols);
  for (std::int64_t r = 0; r < n_rows; ++r) {
    const auto position = static_cast<std::uint64_t>(first_position + r);
    float* row = out + r * n_cols;
    for (std::int64_t c = 0; c < n_cols; ++c) {
      const auto column = static_cast<std::uint32_t>(vocab_begin + c);
      const double g = sglang_gumbel(variant, sglang_murmur_hash32(seed, position, column));
      row[c] = g == std::numeric_limits<double>::infinity() ? kInfiniteGumbel : static_cast<float>(g);
    }
  }
}

}  // namespace fssl
