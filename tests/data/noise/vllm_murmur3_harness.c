/* Appends vLLM's float32 Murmur3 Gumbel noise (vllm#51367) to each line gen_vllm_murmur3_golden.py
 * writes, computed with NVIDIA's own __nv_logf (libdevice bitcode lifted to the CPU by
 * libdevice_lift.sh) and the series L = log(1 - u) of vLLM's _log1p_neg_stable in both of the
 * roundings a Triton build can give it: every Horner step one fused multiply-add (C's fmaf, what
 * Triton <= 3.9 emits by default: fma.rn.f32 in the PTX, check_triton_lowering.py) or a multiply and
 * an add rounded apart (compiled with -ffp-contract=off). Input: the uniform's float32 bits in the
 * column named below; output: the line, then bits(G_fused) bits(G_unfused). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
float __nv_logf(float);
static uint32_t bits(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  return b;
}
static float from_bits(uint32_t b) {
  float x;
  memcpy(&x, &b, 4);
  return x;
}
static float log1m(float u, int fused) {
  if (!(u < 0.25f)) return __nv_logf(fmaxf(1.0f - u, 5.960464477539063e-08f));
  const float c[7] = {1.0f / 7.0f, 1.0f / 6.0f, 1.0f / 5.0f, 1.0f / 4.0f, 1.0f / 3.0f, 1.0f / 2.0f, 1.0f};
  float p = 1.0f / 8.0f;
  for (int k = 0; k < 7; ++k) p = fused ? fmaf(u, p, c[k]) : c[k] + u * p;
  return -u * p;
}
int main(void) {
  char line[512], kind[8];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    unsigned ub = 0;
    if (line[0] == '#') {
      printf("%s; then G_fused G_unfused (float32 bits, libdevice __nv_logf)\n", line);
      continue;
    }
    if (sscanf(line, "%7s", kind) != 1) return 1;
    if (strcmp(kind, "key") == 0) {
      if (sscanf(line, "%*s %*s %*s %*s %*s %*s %x", &ub) != 1) return 1;
    } else if (sscanf(line, "%*s %*s %x", &ub) != 1) {
      return 1;
    }
    const float u = from_bits(ub);
    printf("%s %08x %08x\n", line, bits(-__nv_logf(-log1m(u, 1))), bits(-__nv_logf(-log1m(u, 0))));
  }
  return 0;
}
