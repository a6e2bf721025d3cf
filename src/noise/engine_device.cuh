// The Gumbel noise of vllm-mrv2 and sglang rows on the device (the fused scorer generates it per
// column, counter-based: nothing is uploaded). The same formulas as src/noise/vllm_mrv2.cpp,
// src/noise/vllm_murmur3.cpp and src/noise/sglang.cpp: the device's logf / log1pf are libdevice's __nv_logf / __nv_log1pf, which
// the CPU reproduces bit for bit (libdevice_math.cpp; nvcc's default -ftz=false only differs on
// subnormals, which these chains never meet), and float64 log is libdevice's __nv_log (within 1
// ulp of the CPU's). CUDA only.
#pragma once
#include <cstdint>

#include "../contrib/fssl_philox/fssl_philox.h"
#include "noise/murmur3_key.h"

namespace fssl {

// VllmMrv2Noise / SglangNoise values as plain ints (noise.h's enums, in declaration order).
constexpr int kDeviceMrv2Fp64Eps20 = 0, kDeviceMrv2Fp32Log1e7 = 1, kDeviceMrv2Fp32LogTiny = 2, kDeviceMrv2Fp32Log1p = 3,
              kDeviceMrv2Fp64Rand64 = 4, kDeviceMrv2Murmur3 = 5, kDeviceMrv2Murmur3Unfused = 6, kDeviceMrv2Murmur3Fp64 = 7;
constexpr int kDeviceSglangMurmur3 = 0, kDeviceSglangMurmur3Capped = 1;

__device__ inline std::array<std::uint32_t, 4> triton_randint4x_device(std::uint64_t seed, std::uint64_t offset) {
  return fssl_philox::philox4x32_10(
      {static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(offset >> 32), 0u, 0u},
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
}

__device__ inline float triton_rand_device(std::uint64_t seed, std::uint64_t offset) {
  auto v = static_cast<std::int32_t>(triton_randint4x_device(seed, offset)[0]);
  if (v < 0) v = ~v;
  return __fmul_rn(static_cast<float>(v), 4.6566127342e-10f);
}

// vllm#51367's Murmur3 noise (vllm_murmur3.cpp): every rounding spelled out, so nvcc's default
// contraction cannot fuse what the variant keeps apart.
__device__ inline float vllm_murmur3_gumbel_device(int variant, std::uint64_t seed, std::uint64_t position,
                                                   std::uint32_t token) {
  const std::uint32_t h = murmur3_key16(0, seed, position, token);
  if (variant == kDeviceMrv2Murmur3Fp64) {
    const std::uint32_t hi = murmur3_key16(kMurmur3HighWordDomain, seed, position, token);
    const std::uint64_t random53 = ((static_cast<std::uint64_t>(hi) << 32) | h) >> 11;
    double u = __dmul_rn(__dadd_rn(__ull2double_rn(random53), 0.5), 0x1p-53);
    if (u == 1.0) u = __dsub_rn(u, 0x1p-53);
    return static_cast<float>(-log(-log(u)));
  }
  const float u = __fadd_rn(__fmul_rn(static_cast<float>(h >> 16), 0x1p-16f),
                            __fmul_rn(__fadd_rn(static_cast<float>(h & 0xffffu), 0.5f), 0x1p-32f));
  float l;
  if (u < 0.25f) {
    const float c[7] = {1.0f / 7.0f, 1.0f / 6.0f, 1.0f / 5.0f, 0.25f, 1.0f / 3.0f, 0.5f, 1.0f};
    float p = 0.125f;
    for (int k = 0; k < 7; ++k) {
      p = variant == kDeviceMrv2Murmur3 ? __fmaf_rn(u, p, c[k]) : __fadd_rn(c[k], __fmul_rn(u, p));
    }
    l = __fmul_rn(-u, p);
  } else {
    l = logf(fmaxf(__fsub_rn(1.0f, u), 0x1p-24f));
  }
  return -logf(-l);
}

// G of column `token`: the Murmur3 variants hash (seed, position, token); the Philox ones use the row
// seed s = triton_randint(seed, position) (computed once per row).
__device__ inline float vllm_mrv2_gumbel_device(int variant, std::uint64_t seed, std::uint64_t position,
                                                std::uint32_t row_seed, std::uint64_t token) {
  if (variant >= kDeviceMrv2Murmur3) {
    return vllm_murmur3_gumbel_device(variant, seed, position, static_cast<std::uint32_t>(token));
  }
  if (variant == kDeviceMrv2Fp64Rand64) {
    const auto w = triton_randint4x_device(row_seed, token);
    const std::uint64_t r = (static_cast<std::uint64_t>(w[1]) << 32) | w[0];
    const double u = fmax(__dmul_rn(__ull2double_rn(r), 0x1p-64), 0x1p-1022);
    return static_cast<float>(-log(-log(u)));
  }
  const float u = triton_rand_device(row_seed, token);
  switch (variant) {
    case kDeviceMrv2Fp64Eps20:
      return static_cast<float>(-log(__dadd_rn(-log(__dadd_rn(static_cast<double>(u), 1e-20)), 1e-20)));
    case kDeviceMrv2Fp32Log1e7:
      return -logf(-logf(fmaxf(u, 1e-7f)));
    case kDeviceMrv2Fp32LogTiny:
      return -logf(-logf(fmaxf(u, 0x1p-126f)));
    default:
      return -logf(-log1pf(-fmaxf(u, 4.6566127342e-10f)));
  }
}

__device__ inline float sglang_gumbel_device(int variant, std::uint64_t seed, std::uint64_t position,
                                             std::uint32_t column) {
  const std::uint32_t h = murmur3_key16(0, seed, position, column);
  const double u = __ddiv_rn(static_cast<double>(h), 4294967295.0);
  double t = fmax(log(u), -1.7976931348623157e308);
  if (variant == kDeviceSglangMurmur3Capped) t = fmin(t, -0x1p-32);
  const double g = -log(-t);
  return isinf(g) ? 1e30f : static_cast<float>(g);
}

}  // namespace fssl
