"""Capture vLLM Model Runner V2's Gumbel noise rows from Triton on a GPU, every variant (the
formulas of docs/sampler-spec.md §7, written as vLLM's gumbel.py writes them: tl.randint, tl.rand,
tl.log, libdevice.log1p, float64 where vLLM uses it; vllm#51367's Murmur3 hash, uniforms and series,
with and without Triton's FP fusion). Needs torch with CUDA (its wheel ships Triton); vLLM itself is
not needed. Output, one line per row:
    variant V seed64 pos64 sha256(G row bytes, little-endian; float32, float64 for fp64 and murmur3-fp64) G[0..7] hex
tests/gpu/run.sh writes vllm_mrv2_triton_<gpu>.txt; commit it to tests/data/noise/ and
noise_engines_test checks fssl's CPU rows against it."""
import hashlib
import os
import sys

import torch
import triton
import triton.language as tl
from triton.language.extra import libdevice

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import triton_murmur3 as murmur3  # noqa: E402

VARIANTS = ["fp64-eps20", "fp32-log-1e-7", "fp32-log-tiny", "fp32-log1p", "fp64", "murmur3", "murmur3-unfused",
            "murmur3-fp64"]
FP64 = (4, 7)


@triton.jit
def _rows(out_ptr, seed_ptr, pos_ptr, V, VARIANT: tl.constexpr, BLOCK: tl.constexpr):
    seed = tl.load(seed_ptr)
    pos = tl.load(pos_ptr)
    block = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = block < V
    row_seed = tl.randint(seed, pos)
    if VARIANT == 7:
        g = murmur3.gumbel64(seed, pos, block)
    elif VARIANT >= 5:
        g = murmur3.gumbel32(seed, pos, block)
    elif VARIANT == 4:
        lo, hi, _, _ = tl.randint4x(row_seed, block)
        r = (hi.to(tl.uint32, bitcast=True).to(tl.uint64) << 32) | lo.to(tl.uint32, bitcast=True).to(tl.uint64)
        u = tl.maximum(r.to(tl.float64) * 5.421010862427522170037e-20, 2.2250738585072014e-308)
        g = -tl.log(-tl.log(u))
    else:
        u = tl.rand(row_seed, block)
        if VARIANT == 0:
            r = u.to(tl.float64)
            g = (-tl.log(-tl.log(r + 1e-20) + 1e-20)).to(tl.float32)
        elif VARIANT == 1:
            g = -tl.log(-tl.log(tl.maximum(u, 1e-7)))
        elif VARIANT == 2:
            g = -tl.log(-tl.log(tl.maximum(u, 1.1754943508222875e-38)))
        else:
            g = -tl.log(-libdevice.log1p(-tl.maximum(u, 4.6566127342e-10)))
    tl.store(out_ptr + block, g, mask=mask)


def row(variant, V, seed, pos):
    dtype = torch.float64 if variant in FP64 else torch.float32
    out = torch.empty(V, dtype=dtype, device="cuda")
    BLOCK = 1024
    seed_t = torch.tensor([seed], dtype=torch.int64, device="cuda")  # int64 tensors, as vLLM loads them
    pos_t = torch.tensor([pos], dtype=torch.int64, device="cuda")
    # murmur3-unfused is the same kernel compiled without FP fusion (Triton >= 3.10's default).
    _rows[(triton.cdiv(V, BLOCK),)](out, seed_t, pos_t, V, VARIANT=variant, BLOCK=BLOCK,
                                    enable_fp_fusion=variant != 6)
    return out.cpu()


def main():
    name = torch.cuda.get_device_name(0)
    print(f"# Triton {triton.__version__} on {name} (torch {torch.__version__}): variant V seed pos sha256 G[0..7]")
    seeds = [0, 42, 2**63 + 12345, 2**64 - 7]  # the last two: int64 seeds -2^63+12345 and -7 as vLLM's uint64
    for variant, vname in enumerate(VARIANTS):
        for V in (32000, 128256, 151936, 262144):
            for seed in seeds:
                for pos in (0, 17, 4095, 2**32 + 3):
                    s = seed - 2**64 if seed >= 2**63 else seed  # Triton takes the int64 vLLM stores
                    g = row(variant, V, s, pos)
                    raw = g.numpy().tobytes()
                    width = 8 if variant in FP64 else 4
                    head = " ".join(raw[k:k + width][::-1].hex() for k in range(0, 8 * width, width))
                    print(vname, V, "%016x" % seed, "%016x" % pos, hashlib.sha256(raw).hexdigest(), head)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
