// vLLM Model Runner V2's Murmur3 Gumbel noise (vllm#51367; noise.h: vllm_murmur3_uniform,
// vllm_murmur3_uniform64, vllm_murmur3_log1m, vllm_murmur3_gumbel). The uniforms are exact integer
// and power-of-two arithmetic, so every backend gets the same bits. The float32 log(1 - u) is a
// series vLLM wrote to avoid libdevice's log1pf; its one backend dependence is whether the compiler
// fuses each Horner step into one fma: Triton does by default up to 3.9 (fma.rn.f32 in the PTX,
// tests/data/noise/check_triton_lowering.py) and announces the opposite default for 3.10, hence two
// variants. logf is libdevice's __nv_logf, bit for bit (libdevice_math.cpp).
#include <cmath>
#include <cstdint>

#include "fssl/noise.h"
#include "noise/fma_clones.h"

namespace fssl {
namespace {

// RN32(1 / k) for k = 7 .. 1 (Triton materialises vLLM's 1.0 / k.0 as float32 constants; the PTX
// shows 0f3E124925 for 1/7).
constexpr float kSeries[7] = {1.0f / 7.0f, 1.0f / 6.0f, 1.0f / 5.0f, 0.25f, 1.0f / 3.0f, 0.5f, 1.0f};
constexpr float kOneMinusFloor = 0x1p-24f;  // 5.960464477539063e-08: keeps log's argument positive

}  // namespace

float vllm_murmur3_uniform(std::uint32_t hash) {
  // hi16 * 2^-16 and (lo16 + 0.5) * 2^-32 are exact in float32; their sum rounds once, so this is
  // RN32((hash + 0.5) * 2^-32) whether or not a compiler fuses the two products into the add.
  const auto hi16 = static_cast<float>(hash >> 16);
  const auto lo16 = static_cast<float>(hash & 0xffffu);
  return hi16 * 0x1p-16f + (lo16 + 0.5f) * 0x1p-32f;
}

double vllm_murmur3_uniform64(std::uint32_t lo, std::uint32_t hi) {
  const std::uint64_t random53 = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  // random53 converts exactly; + 0.5 rounds to even above 2^52, so the largest word gives 1.0, which
  // vLLM moves to the float64 below it.
  const double u = (static_cast<double>(random53) + 0.5) * 0x1p-53;
  return u == 1.0 ? u - 0x1p-53 : u;
}

FSSL_FMA_CLONES float vllm_murmur3_log1m(float u, bool fused) {
  if (!(u < 0.25f)) return libdevice_logf(std::fmax(1.0f - u, kOneMinusFloor));
  float p = 0.125f;
  for (const float c : kSeries) {
    if (fused) {
      p = std::fma(u, p, c);
    } else {
      const float product = u * p;  // its own statement: rounded before the add on any compiler
      p = c + product;
    }
  }
  return -u * p;
}

float vllm_murmur3_gumbel(float u, bool fused) { return -libdevice_logf(-vllm_murmur3_log1m(u, fused)); }

}  // namespace fssl
