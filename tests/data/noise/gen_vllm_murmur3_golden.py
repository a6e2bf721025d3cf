#!/usr/bin/env python3
"""Integer and uniform golden values of vLLM Model Runner V2's Murmur3 Gumbel noise (vllm#51367),
written by Triton's own kernels in its interpreter (TRITON_INTERPRET=1, numpy shim of
gen_triton_random_golden.py; no torch, no GPU), from the Triton functions of triton_murmur3.py that
spell vLLM's gumbel.py operations (murmur3_hash32, murmur3_uniform32, murmur3_uniform64); every hash is also checked
against the PyPI mmh3 package (MurmurHash3_x86_32 with hash seed = the domain). Hashes and uniforms
are integer and power-of-two arithmetic, so the interpreter's bits are the GPU's.

Output lines (hex), read by vllm_murmur3_harness.c, which appends the float32 noise:
    key  seed64 pos64 token32 hash_lo32 hash_hi32 u32bits u64bits G64(C library, float64 bits)
    edge hash32 u32bits        (hashes chosen to hit the uniform's edges: 0, the 0.25 branch, 1.0)
Run through gen_vllm_murmur3_golden.sh, not alone."""
import math
import os
import struct
import sys

os.environ["TRITON_INTERPRET"] = "1"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mmh3  # noqa: E402
import numpy as np  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402

import gen_triton_random_golden as shim  # noqa: E402
import triton_murmur3 as murmur3  # noqa: E402

shim._NAMES[np.dtype(np.float64)] = "float64"
shim._NAMES[np.dtype(np.int64)] = "int64"


@triton.jit
def key_kernel(seed_ptr, pos_ptr, token0, lo_ptr, hi_ptr, u_ptr, u64_ptr, N: tl.constexpr):
    # seed and position are int64 tensors in vLLM (SamplingStates.seeds, the positions), loaded as such.
    seed = tl.load(seed_ptr)
    pos = tl.load(pos_ptr)
    offs = tl.arange(0, N)
    keys = token0 + offs
    lo = murmur3.hash32(seed, pos, keys)
    hi = murmur3.hash32(seed, pos, keys, domain=0x9E3779B9)
    tl.store(lo_ptr + offs, lo)
    tl.store(hi_ptr + offs, hi)
    tl.store(u_ptr + offs, murmur3.uniform32(lo))
    tl.store(u64_ptr + offs, murmur3.uniform64(lo, hi))


@triton.jit
def edge_kernel(h_ptr, u_ptr, N: tl.constexpr):
    offs = tl.arange(0, N)
    tl.store(u_ptr + offs, murmur3.uniform32(tl.load(h_ptr + offs)))


N = 8
SEEDS = [0, 42, 2**32 - 1, 2**32 + 7, 0x7EADBEEFCAFEF00D, -7, -(2**63)]  # int64 as vLLM stores them
POSITIONS = [0, 16, 4095, 131071, 2**32 + 5]  # only the low 32 bits enter
TOKENS = [0, 31992, 128248, 151928, 262136]
# The uniform's edges: hash 0 (the smallest u, the winning tail), the last hashes of the series
# branch and the first of the direct one (u = 0.25), and the largest (u rounds to 1.0).
EDGES = [0, 1, 2, 3, 0xFF, 0x10000, 0x3FFFFF7F, 0x3FFFFF80, 0x3FFFFFFF, 0x40000000, 0x40000001, 0x7FFFFFFF,
         0x80000000, 0xBFFFFFFF, 0xFFFFFF7F, 0xFFFFFF80, 0xFFFFFFFE, 0xFFFFFFFF]
EDGES += [k << 20 for k in range(1, 1024, 37)]  # small uniforms: u < 2^-2 down to 2^-33
EDGES += [(k * 0x9E3779B9) & 0xFFFFFFFF for k in range(1, 129 - len(EDGES))]  # and a spread: 128 in all

_KEEP = []


def _out(dtype, n):
    t = shim.NpTensor(np.zeros(n, dtype=dtype))
    _KEEP.append(t)
    return t


def _bits64(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def main():
    print("# vLLM MRV2 Murmur3 noise golden (gen_vllm_murmur3_golden.sh): Triton %s interpreter, mmh3 %s" %
          (triton.__version__, getattr(mmh3, "__version__", "?")))
    for seed in SEEDS:
        for pos in POSITIONS:
            for token0 in TOKENS:
                lo, hi, u, u64 = _out(np.uint32, N), _out(np.uint32, N), _out(np.float32, N), _out(np.float64, N)
                seed_t, pos_t = shim.NpTensor(np.array([seed], np.int64)), shim.NpTensor(np.array([pos], np.int64))
                _KEEP.extend([seed_t, pos_t])
                key_kernel[(1,)](seed_t, pos_t, token0, lo, hi, u, u64, N=N)
                s = seed & (2**64 - 1)
                for i in range(N):
                    data = struct.pack("<IIII", s & 0xFFFFFFFF, s >> 32, pos & 0xFFFFFFFF, token0 + i)
                    assert int(lo.arr[i]) == mmh3.hash(data, 0, signed=False), (seed, pos, token0 + i)
                    assert int(hi.arr[i]) == mmh3.hash(data, 0x9E3779B9, signed=False), (seed, pos, token0 + i)
                    g64 = -math.log(-math.log(float(u64.arr[i])))
                    print("key %016x %016x %08x %08x %08x %08x %016x %016x" %
                          (s, pos, token0 + i, lo.arr[i], hi.arr[i], u.arr.view(np.uint32)[i],
                           u64.arr.view(np.uint64)[i], _bits64(g64)))
    hashes = shim.NpTensor(np.array(EDGES, dtype=np.uint32))
    u = _out(np.float32, len(EDGES))
    edge_kernel[(1,)](hashes, u, N=len(EDGES))
    for h, bits in zip(EDGES, u.arr.view(np.uint32)):
        print("edge %08x %08x" % (h, bits))


if __name__ == "__main__":
    main()
