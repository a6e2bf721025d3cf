// fssl-philox v1: stateless, counter-based Gumbel-max sampler noise, E(seed, row, token) ~ Exp(1)
// and G = -ln E ~ Gumbel(0, 1) as float32, bit-identical in any language or device that follows
// docs/sampler-spec.md ("fssl-philox"). Header-only C++17, standard library only; fssl_philox.py
// beside it is the pure-Python reference implementation of the same specification.
//
// Requirements on the build: IEEE-754 binary32/binary64 arithmetic with round-to-nearest-even,
// no x87 excess precision (FLT_EVAL_METHOD == 0), and no fast-math. std::log must have a relative
// error below 2^-51 (glibc, musl, MSVC, libc++ platforms, CUDA's double log all qualify).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

// Philox is also compiled for the GPU (fssl's CUDA noise kernels); std::array's constexpr members
// need nvcc's --expt-relaxed-constexpr there.
#if defined(__CUDACC__)
#define FSSL_PHILOX_HD __host__ __device__
#else
#define FSSL_PHILOX_HD
#endif

namespace fssl_philox {

// Counter word 3 of every fssl-philox v1 noise block: ASCII "FSN1" read big-endian. Other uses of
// the same seed (future profiles, other draw kinds) must use another tag so streams never overlap.
inline constexpr std::uint32_t kDomainTag = 0x46534E31u;

// Philox4x32-10 (Salmon et al., SC'11; Random123 philox4x32 with R = 10, as in cuRAND and ATen).
FSSL_PHILOX_HD inline std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> ctr,
                                                                 std::array<std::uint32_t, 2> key) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // multipliers
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kW0;
      key[1] += kW1;
    }
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
  }
  return ctr;
}

// The Philox block holding token `token` of noise row `row`: key = the 64-bit seed split
// little-endian, counter = (token / 4, row low word, row high word, kDomainTag). Token t uses
// output word t % 4 of its block.
inline std::array<std::uint32_t, 4> noise_block(std::uint64_t seed, std::uint64_t row, std::uint64_t token) {
  return philox4x32_10({static_cast<std::uint32_t>(token >> 2), static_cast<std::uint32_t>(row),
                        static_cast<std::uint32_t>(row >> 32), kDomainTag},
                       {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
}

// The word x in [0, 2^32) as the uniform u = (x + 1/2) * 2^-32 in (0, 1): exact in double, never 0
// or 1, so E stays finite and positive.
inline double uniform_from_word(std::uint32_t x) { return (static_cast<double>(x) + 0.5) * 0x1p-32; }

namespace detail {

struct HardCase {
  std::uint32_t key;   // E table: the word x; G table: the float32 bits of E
  std::uint32_t bits;  // float32 bits of the correctly rounded result
};

// Every input whose exact result lies within 2^-50 (relative) of a float32 rounding boundary, from
// an exhaustive search over all 2^32 words (tests/data/noise/fssl_philox_hard_cases.cpp, exact
// values from 113-bit logq, re-checked in decimal by tests/data/noise/gen_fssl_philox_golden.py).
// Everywhere else a double log rounded once to float32 is already the correctly rounded value.
inline constexpr HardCase kHardE[] = {
    {0x0264e435, 0x40958265},
    {0x03275f04, 0x408cb0b6},
    {0x035ee6be, 0x408a8fcf},
    {0x03f0f814, 0x40858eb5},
    {0x06e3c64e, 0x40675e83},
    {0x0814e15f, 0x405d286c},
    {0x0dc96029, 0x403af981},
    {0x120128a5, 0x4029e438},
    {0x15ee3117, 0x401d4470},
    {0x1a332a78, 0x4011e212},
    {0x1e333e40, 0x4008ca03},
    {0x229f33a9, 0x40000b55},
    {0x268c86fe, 0x3ff255fb},
    {0x27f61610, 0x3fedbae9},
    {0x2a2b7242, 0x3fe6d847},
    {0x2bf4468a, 0x3fe18a2d},
    {0x311a7e5a, 0x3fd35c12},
    {0x34307892, 0x3fcb8eec},
    {0x36bc64b0, 0x3fc575cd},
    {0x37804d74, 0x3fc3aed7},
    {0x38988945, 0x3fc12ed6},
    {0x3a8670dc, 0x3fbce46a},
    {0x3bf69ec6, 0x3fb9c8e9},
    {0x3d6c99a8, 0x3fb6b42b},
    {0x3ef8972e, 0x3fb38531},
    {0x43909492, 0x3faa81f3},
    {0x4852fdec, 0x3fa1cb5f},
    {0x4aa7d58b, 0x3f9dbbbd},
    {0x4e770d80, 0x3f975cf4},
    {0x4ea3176a, 0x3f971530},
    {0x52bd99b1, 0x3f90925e},
    {0x5550545e, 0x3f8ca6d6},
    {0x565dfaa5, 0x3f8b14bf},
    {0x59adc582, 0x3f8643c4},
    {0x5ace61e1, 0x3f84aa65},
    {0x5f566d9b, 0x3f7cdd62},
    {0x5fb71b21, 0x3f7bda4c},
    {0x60d6069a, 0x3f78df5c},
    {0x61434ef7, 0x3f77bf18},
    {0x68b0641f, 0x3f64e92f},
    {0x6aecc936, 0x3f5f803a},
    {0x6c444604, 0x3f5c4ef6},
    {0x6dcba8fe, 0x3f58b7fd},
    {0x6dd1a894, 0x3f58aa02},
    {0x7370ea60, 0x3f4be200},
    {0x75373a42, 0x3f47fa31},
    {0x76be8716, 0x3f44a91c},
    {0x76fb5507, 0x3f442627},
    {0x8368ca92, 0x3f2ab75b},
    {0x8a59cf8e, 0x3f1d89db},
    {0x8ff6b072, 0x3f135b9f},
    {0x918f16f7, 0x3f108962},
    {0x922c4df5, 0x3f0f7578},
    {0xa46fc083, 0x3ee2a363},
    {0xa8dca477, 0x3ed50a94},
    {0xa9759cc9, 0x3ed33b94},
    {0xae2b96b5, 0x3ec5319b},
    {0xb0454c41, 0x3ebf0e61},
    {0xb2d7fc9f, 0x3eb7a2f8},
    {0xb51437d6, 0x3eb146ea},
    {0xb677a439, 0x3ead5dca},
    {0xb8b454f3, 0x3ea7209b},
    {0xc00fa1e6, 0x3e932162},
    {0xc369dd45, 0x3e8a453b},
    {0xc64da6d4, 0x3e82c11f},
    {0xc6e6c6b9, 0x3e81365c},
    {0xcb537dc9, 0x3e6be51b},
    {0xcbe902fe, 0x3e68f52a},
    {0xcee21e47, 0x3e5a22a0},
    {0xcfa64a3a, 0x3e56596f},
    {0xd059e919, 0x3e52e526},
    {0xd10411b7, 0x3e4fa230},
    {0xd4222eca, 0x3e4078fd},
    {0xdb2dc55c, 0x3e1f043f},
    {0xde1e7e17, 0x3e115eed},
    {0xde3cb8ca, 0x3e10d39a},
    {0xdf2ac200, 0x3e0c8d18},
    {0xe0df8896, 0x3e04c092},
    {0xe542d46f, 0x3de1ed6b},
    {0xef6d47b4, 0x3d891247},
    {0xf60bcb41, 0x3d22711c},
    {0xf73a21c5, 0x3d0ed40a},
    {0xfe1d3984, 0x3bf247f9},
};
inline constexpr HardCase kHardG[] = {
    {0x3bf86ef0, 0x409c399e},
    {0x3c413d3a, 0x408e158f},
    {0x3e2b3421, 0x3fe4f170},
};

template <std::size_t N>
constexpr bool sorted_by_key(const HardCase (&table)[N]) {
  for (std::size_t i = 1; i < N; ++i) {
    if (table[i - 1].key >= table[i].key) return false;
  }
  return true;
}
static_assert(sorted_by_key(kHardE) && sorted_by_key(kHardG), "hard-case tables must be sorted");

template <std::size_t N>
inline bool hard_case_lookup(const HardCase (&table)[N], std::uint32_t key, float* out) {
  std::size_t lo = 0, hi = N;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (table[mid].key < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == N || table[lo].key != key) return false;
  std::memcpy(out, &table[lo].bits, sizeof(float));
  return true;
}

inline std::uint32_t float_bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

}  // namespace detail

// E = RN32(-ln u): the float32 nearest to the exact -ln((x + 1/2) * 2^-32), in [2^-33, 22.87].
inline float exp1_from_word(std::uint32_t x) {
  float e;
  if (detail::hard_case_lookup(detail::kHardE, x, &e)) return e;
  return static_cast<float>(-std::log(uniform_from_word(x)));
}

// G = RN32(-ln E) for a float32 E produced by exp1_from_word: the Gumbel(0, 1) noise of the
// sampling rule (never needed for E itself, only for scores z = logit + T * G).
inline float gumbel_from_exp1(float e) {
  float g;
  if (detail::hard_case_lookup(detail::kHardG, detail::float_bits(e), &g)) return g;
  return static_cast<float>(-std::log(static_cast<double>(e)));
}

// out[c] = E(seed, row, token_begin + c) for c < n_tokens. Any slice of a row equals the same
// columns of the full row: there is no state besides (seed, row, token).
inline void exp1_row(std::uint64_t seed, std::uint64_t row, std::uint64_t token_begin, std::size_t n_tokens,
                     float* out) {
  std::array<std::uint32_t, 4> block{};
  std::uint64_t block_index = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t c = 0; c < n_tokens; ++c) {
    const std::uint64_t token = token_begin + c;
    if ((token >> 2) != block_index) {
      block_index = token >> 2;
      block = noise_block(seed, row, token);
    }
    out[c] = exp1_from_word(block[token & 3]);
  }
}

// The fssl-philox sampling rule for one row: with T > 0, the kept token (finite logit) maximising
// z_i = RN32(logit_i + RN32(T * G_i)) in float32, G_i = gumbel_from_exp1(E(seed, row, i)), ties to
// the smallest token id; with T == 0, the first maximal logit and no noise. Filtered tokens carry
// -inf. Returns -1 when no token is kept. logits: [n_tokens] float32, token id = index.
inline std::int64_t sample_row(const float* logits, std::size_t n_tokens, float temperature, std::uint64_t seed,
                               std::uint64_t row) {
  std::int64_t best = -1;
  float best_z = 0.0f;
  std::array<std::uint32_t, 4> block{};
  std::uint64_t block_index = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t i = 0; i < n_tokens; ++i) {
    if (!std::isfinite(logits[i])) continue;
    float z = logits[i];
    if (temperature > 0.0f) {
      if ((i >> 2) != block_index) {
        block_index = i >> 2;
        block = noise_block(seed, row, i);
      }
      // volatile forces both roundings: a fused multiply-add (allowed by -ffp-contract=fast,
      // GCC's default outside ISO mode) would round once and change ties and near-ties.
      volatile float scaled = temperature * gumbel_from_exp1(exp1_from_word(block[i & 3]));
      z = logits[i] + scaled;
    }
    if (best < 0 || z > best_z) {
      best = static_cast<std::int64_t>(i);
      best_z = z;
    }
  }
  return best;
}

}  // namespace fssl_philox
