"""What Triton lowers vLLM Model Runner V2's noise arithmetic to, without a GPU: compiles a kernel
with the same operations (float32 division by the temperature, tl.randint / tl.rand, tl.log,
libdevice.log1p) to PTX for several architectures and counts the instructions that matter
(docs/sampler-spec.md §6.1). Expected: div.full.f32 for the division, no lg2.approx / ex2.approx,
libdevice's fma.rn.ftz.f32 polynomials (their constants, e.g. 0f3E146475, appear in the PTX). For
vllm#51367's Murmur3 noise it also compiles the degree-8 series of _log1p_neg_stable with Triton's FP
fusion on (the default up to 3.9) and off: on, each Horner step is one fma.rn.f32 (7 per element, the
first with the 1/8 and 1/7 constants 0f3E000000, 0f3E124925); off, none.
    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install triton && /tmp/tv/bin/python check_triton_lowering.py"""
import os
import re
import sys

import triton
import triton.language as tl
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from triton.language.extra import libdevice

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import triton_murmur3 as murmur3  # noqa: E402


@triton.jit
def _kernel(x_ptr, out_ptr, t, seed, pos, n, LOG1P: tl.constexpr):
    offs = tl.arange(0, 1024)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m, other=float("-inf")) / t
    u = tl.rand(tl.randint(seed, pos), offs)
    if LOG1P:
        g = -tl.log(-libdevice.log1p(-tl.maximum(u, 4.6566127342e-10)))
    else:
        g = -tl.log(-tl.log(tl.maximum(u, 1e-7)))
    _, i = tl.max(tl.where(m, x + g, float("-inf")), axis=0, return_indices=True)
    tl.store(out_ptr, i)


@triton.jit
def _series(u_ptr, out_ptr):
    offs = tl.arange(0, 1024)
    tl.store(out_ptr + offs, -tl.log(-murmur3.log1m(tl.load(u_ptr + offs))))


signature = {"x_ptr": "*fp32", "out_ptr": "*i64", "t": "fp32", "seed": "i64", "pos": "i64", "n": "i32",
             "LOG1P": "constexpr"}
print(f"# Triton {triton.__version__}")
for cc in (80, 90, 100, 120):
    for log1p in (True, False):
        ptx = triton.compile(ASTSource(fn=_kernel, signature=signature, constexprs={"LOG1P": log1p}),
                             target=GPUTarget("cuda", cc, 32)).asm["ptx"]
        count = {k: len(re.findall(k, ptx)) for k in (r"div\.full\.f32", r"div\.rn\.f32", r"lg2\.approx",
                                                       r"ex2\.approx", r"fma\.rn\.ftz\.f32", "0f3E146475")}
        print(f"sm_{cc} {'log1p' if log1p else 'log  '} " + " ".join(f"{k.replace(chr(92), '')}={v}"
                                                                    for k, v in count.items()))
for cc in (80, 90, 100, 120):
    for fusion in (True, False):
        ptx = triton.compile(ASTSource(fn=_series, signature={"u_ptr": "*fp32", "out_ptr": "*fp32"}, constexprs={}),
                             target=GPUTarget("cuda", cc, 32), options={"enable_fp_fusion": fusion}).asm["ptx"]
        n_fma = len(re.findall(r"fma\.rn\.f32", ptx))
        first = len(re.findall(r"fma\.rn\.f32\s+%r\d+, %r\d+, 0f3E000000, 0f3E124925", ptx))
        print(f"sm_{cc} murmur3 series fp_fusion={int(fusion)} fma.rn.f32={n_fma} first_step(u*1/8+1/7)={first}")
