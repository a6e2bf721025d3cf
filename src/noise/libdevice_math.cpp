// The GPU's float32 log and log1p as Triton kernels compute them (noise.h: libdevice_logf,
// libdevice_log1pf). Triton lowers tl.log and libdevice.log1p on NVIDIA GPUs to libdevice's
// __nv_logf / __nv_log1pf (no lg2.approx: checked in the PTX Triton 3.6 and 3.9 emit for sm_80 to
// sm_120), and those are fixed sequences of IEEE float32 operations: a range reduction on the
// exponent bits, a nine-coefficient polynomial in fused multiply-adds, and ln 2 times the exponent. Done in
// the same order with std::fma they give the GPU's bits. Triton links libdevice with FTZ on
// (enable_reflect_ftz), so the fused multiply-adds flush subnormal operands and results; the plain
// multiplications and additions do not. The operation order was read from the LLVM IR of
// libdevice.10.bc (CUDA 13.0; Triton 3.9 ships an identical __nv_logf / __nv_log1pf); the golden file
// tests/data/noise/libdevice_log_golden.txt comes from that bitcode itself, compiled for the CPU.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "fssl/noise.h"
#include "noise/fma_clones.h"

namespace fssl {
namespace {

inline std::uint32_t bits_of(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

inline float float_of(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// Subnormal (exponent bits 0, mantissa not) -> signed zero.
inline float ftz(float x) {
  const std::uint32_t b = bits_of(x);
  return (b & 0x7f800000u) == 0 ? float_of(b & 0x80000000u) : x;
}

// fma.rn.ftz.f32. std::fma is exact everywhere; compiled for FMA hardware (the clones below) it is
// one instruction instead of a libm call, which is most of the noise rows' cost.
inline float fma_ftz(float a, float b, float c) { return ftz(std::fma(ftz(a), ftz(b), ftz(c))); }

// add.rz.ftz.f32 without touching the rounding mode: the exact sum a + b of two floats is a double
// here (|a| < 2^25 or the sum is a itself for our callers' b = 1), so truncating the double to float
// toward zero is the round-toward-zero float sum.
float add_rz_ftz(float a, float b) {
  const double s = static_cast<double>(ftz(a)) + static_cast<double>(ftz(b));
  float r = static_cast<float>(s);  // round to nearest
  if (std::fabs(static_cast<double>(r)) > std::fabs(s)) r = std::nextafter(r, 0.0f);
  return ftz(r);
}

std::int32_t as_int(std::uint32_t b) {
  std::int32_t v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

constexpr float kLn2 = 0x1.62e430p-1f;
constexpr float kInf = std::numeric_limits<float>::infinity();

// How both functions end: Horner's rule in fma_ftz over the degree-8 polynomial c (highest
// coefficient first), r + r^2 p(r), then + n ln 2.
inline float log_tail(const float (&c)[9], float r, float n) {
  float p = fma_ftz(c[0], r, c[1]);
  for (int k = 2; k < 9; ++k) p = fma_ftz(p, r, c[k]);
  return fma_ftz(n, kLn2, fma_ftz(p * r, r, r));
}

constexpr float kLogfPoly[9] = {-0x1.0aa04ep-3f, 0x1.2073ecp-3f,  -0x1.f19b98p-4f, 0x1.1e52aap-3f, -0x1.55b172p-3f,
                                0x1.99da16p-3f,  -0x1.fffe44p-3f, 0x1.5554f0p-2f,  -0.5f};
constexpr float kLog1pfPoly[9] = {-0x1.737ef0p-5f, 0x1.b00024p-4f,  -0x1.0ef1c0p-3f, 0x1.28c8eap-3f, -0x1.54d1bap-3f,
                                  0x1.995f3cp-3f,  -0x1.000084p-2f, 0x1.5555ccp-2f,  -0.5f};

}  // namespace

FSSL_FMA_CLONES float libdevice_logf(float a) {
  // Subnormal inputs are scaled by 2^23 first (a plain multiply, so they survive FTZ).
  float x = a;
  float exponent_bias = 0.0f;
  if (a < 0x1p-126f) {
    x = a * 0x1p23f;
    exponent_bias = -23.0f;
  }
  // m in [2/3, 4/3): subtract the exponent of x / (2/3) from x's bits.
  const std::uint32_t xb = bits_of(x);
  const std::uint32_t e = (xb - 0x3f2aaaabu) & 0xff800000u;
  const float m = float_of(xb - e);
  const float n = fma_ftz(static_cast<float>(as_int(e)), 0x1p-23f, exponent_bias);
  const float r = m - 1.0f;
  float result = log_tail(kLogfPoly, r, n);
  if (xb >= 0x7f800000u) result = fma_ftz(x, kInf, kInf);  // +inf, NaN, negative: inf or NaN
  if (x == 0.0f) result = -kInf;
  return result;
}

FSSL_FMA_CLONES float libdevice_log1pf(float a) {
  // Reduce 1 + a by the exponent of (1 + a) / 0.75, rounded toward zero, applied to a and to 1
  // separately so that no rounding of 1 + a enters: r = a * 2^-k + (2^-k - 1).
  const float s = add_rz_ftz(a, 1.0f);
  const std::uint32_t e = (bits_of(s) - 0x3f400000u) & 0xff800000u;
  const std::uint32_t ab = bits_of(a);
  const float m = float_of(ab - e);
  const float scale = float_of(0x40800000u - e);  // 4 * 2^-k
  const float r = m + fma_ftz(0.25f, scale, -1.0f);
  const float n = static_cast<float>(as_int(e)) * 0x1p-23f;
  float result = log_tail(kLog1pfPoly, r, n);
  // Negative, +inf or NaN: below -1, +inf and NaN go through fma(a, inf, inf); -0 stays -0.
  if (ab >= 0x7f800000u) {
    if (as_int(ab) > as_int(0xbf800000u)) result = fma_ftz(a, kInf, kInf);
    if (a == 0.0f) result = -0.0f;
  }
  return result;
}

}  // namespace fssl
