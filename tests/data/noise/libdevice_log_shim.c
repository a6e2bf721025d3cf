/* CPU stand-ins for the NVVM intrinsics that libdevice's __nv_logf and __nv_log1pf call, so that
 * NVIDIA's own bitcode (libdevice.10.bc) runs on the CPU: gen_libdevice_log_golden.sh rewrites the
 * intrinsic names to these. FTZ as Triton links libdevice (__nvvm_reflect("__CUDA_FTZ") = 1). */
#include <fenv.h>
#include <math.h>
char shim_str[11] = "__CUDA_FTZ";
int shim_reflect(const char* s) {
  (void)s;
  return 1;
}
static float ftz(float x) { return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x; }
float shim_fma_rn_ftz_f(float a, float b, float c) { return ftz(fmaf(ftz(a), ftz(b), ftz(c))); }
float shim_fma_rn_f(float a, float b, float c) { return fmaf(a, b, c); }
float shim_add_rz_ftz_f(float a, float b) {
  fesetround(FE_TOWARDZERO);
  volatile float r = ftz(a) + ftz(b);
  fesetround(FE_TONEAREST);
  return ftz(r);
}
float shim_add_rz_f(float a, float b) {
  fesetround(FE_TOWARDZERO);
  volatile float r = a + b;
  fesetround(FE_TONEAREST);
  return r;
}
