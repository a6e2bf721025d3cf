/* Prints libdevice's own __nv_logf / __nv_log1pf (compiled for the CPU by
 * gen_libdevice_log_golden.sh) on every uniform class that vLLM's Model Runner V2 noise feeds them:
 * u = float32(k) * 4.6566127342e-10f, Triton's tl.rand for the 31-bit value k. One line per k:
 *   k  bits(u)  bits(logf(u))  bits(log1pf(-u))  bits(G_log1p)  bits(G_log)
 * with G_log1p = -logf(-log1pf(-max(u, 4.6566127342e-10f))) and G_log = -logf(-logf(max(u, 1e-7f))).
 * With an argument "all" it prints only a checksum over all 2^31 k (for exhaustive comparisons). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
float __nv_logf(float);
float __nv_log1pf(float);
static uint32_t bits(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  return b;
}
static void line(uint32_t k) {
  const float u = (float)k * 4.6566127342e-10f;
  const float u1 = u > 4.6566127342e-10f ? u : 4.6566127342e-10f;
  const float u2 = u > 1e-7f ? u : 1e-7f;
  const float g1 = -__nv_logf(-__nv_log1pf(-u1));
  const float g2 = -__nv_logf(-__nv_logf(u2));
  printf("%u %08x %08x %08x %08x %08x\n", k, bits(u), bits(__nv_logf(u)), bits(__nv_log1pf(-u)), bits(g1), bits(g2));
}
int main(void) {
  uint32_t x = 12345u;
  for (uint32_t k = 0; k < 64; ++k) line(k);                     /* the smallest uniforms: the tail that wins */
  for (uint32_t k = 0; k < 64; ++k) line(2147483647u - k);       /* u -> 1 - 2^-24 */
  for (uint32_t k = 1u << 24; k < (1u << 24) + 16; ++k) line(k); /* where floats start to merge words */
  for (int i = 0; i < 4000; ++i) {                               /* a spread of the rest (LCG, Numerical Recipes) */
    x = x * 1664525u + 1013904223u;
    line(x >> 1);
  }
  return 0;
}
