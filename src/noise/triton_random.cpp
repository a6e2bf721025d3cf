// Triton's counter-based random numbers (noise.h: triton_randint, triton_rand), which vLLM's
// Model Runner V2 sampler draws its Gumbel noise from. Triton's python/triton/language/random.py
// is standard Philox4x32-10 (its round is Random123's: hi/lo of 0xD2511F53 * c0 and of
// 0xCD9E8D57 * c2, key bumped by the Weyl constants), so the rounds are philox4x32_10 and only
// the layout and the float conversion are Triton's. Pinned by tests/data/noise/triton_random_golden.txt,
// written by Triton's own kernels in its interpreter.
#include <cstring>

#include "fssl/noise.h"

namespace fssl {

std::array<std::uint32_t, 4> triton_randint4x(std::uint64_t seed, std::uint64_t offset) {
  // randint4x: counter {offset lo, offset hi, 0, 0} (hi is 0 for a 32-bit offset block), key {seed lo, seed hi}.
  return philox4x32_10({static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(offset >> 32), 0u, 0u},
                       {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
}

std::uint32_t triton_randint(std::uint64_t seed, std::uint64_t offset) { return triton_randint4x(seed, offset)[0]; }

float triton_uint_to_uniform_float(std::uint32_t x) {
  // Bitcast to int32, fold the negative half onto [0, 2^31) by ~x, convert to float32 (round to
  // nearest even: above 2^24 several words share a float), multiply by the float32 scale
  // 4.6566127342e-10 = the largest s with (2^31 - 1) * s < 1 after rounding. So u lies in [0, 1).
  std::int32_t v;
  std::memcpy(&v, &x, sizeof v);
  if (v < 0) v = ~v;
  constexpr float kScale = 4.6566127342e-10f;
  return static_cast<float>(v) * kScale;
}

float triton_rand(std::uint64_t seed, std::uint64_t offset) {
  return triton_uint_to_uniform_float(triton_randint(seed, offset));
}

}  // namespace fssl
