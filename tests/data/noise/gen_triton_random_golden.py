#!/usr/bin/env python3
"""Golden values of Triton's tl.randint / tl.rand, written by Triton's own kernels.

Runs small @triton.jit kernels in Triton's interpreter (TRITON_INTERPRET=1: the same
python/triton/language/random.py code a GPU compiles, executed with numpy integer semantics) and
writes tests/data/noise/triton_random_golden.txt, which tests/noise_test.cpp checks fssl's CPU
functions (noise.h: triton_randint, triton_rand) against. Integers and uniforms are exact on any
backend (integer Philox, one int->float conversion and one float32 multiply), so the interpreter's
values are the GPU's. No torch needed: a numpy shim presents host arrays to the interpreter.

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install triton numpy
    /tmp/tv/bin/python tests/data/noise/gen_triton_random_golden.py > tests/data/noise/triton_random_golden.txt
"""
import os

os.environ["TRITON_INTERPRET"] = "1"

import numpy as np  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402


class _Dtype:  # what the interpreter reads of a torch dtype: its name
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return "torch." + self.name

    __repr__ = __str__


_Dtype.__name__ = _Dtype.__qualname__ = "dtype"
_Dtype.__module__ = "torch"
_NAMES = {np.dtype(np.uint32): "uint32", np.dtype(np.float32): "float32"}


class _Storage:
    def __init__(self, arr):
        self.arr = arr

    def data_ptr(self):
        return self.arr.ctypes.data

    def cpu(self):
        return self

    def copy_(self, other):
        pass


class NpTensor:
    """A host numpy array presented to Triton's interpreter as a CPU tensor."""

    def __init__(self, arr):
        self.arr = np.ascontiguousarray(arr)
        self.dtype = _Dtype(_NAMES[self.arr.dtype])
        self.device = "cpu"
        self.shape = self.arr.shape

    def data_ptr(self):
        return self.arr.ctypes.data

    def untyped_storage(self):
        return _Storage(self.arr)

    def new_empty(self, n, device=None):
        shell = NpTensor.__new__(NpTensor)
        shell.__dict__.update(self.__dict__)
        return shell

    def set_(self, storage, offset, size, stride):
        return self

    def storage_offset(self):
        return 0

    def size(self):
        return self.arr.shape

    def stride(self, *args):
        return tuple(s // self.arr.itemsize for s in self.arr.strides)

    def element_size(self):
        return self.arr.itemsize

    def copy_(self, other):
        pass


@triton.jit
def randint_kernel(seed, base, out_ptr, N: tl.constexpr):
    offs = tl.arange(0, N)
    tl.store(out_ptr + offs, tl.randint(seed, base + offs))


@triton.jit
def rand_kernel(seed, base, out_ptr, N: tl.constexpr):
    offs = tl.arange(0, N)
    tl.store(out_ptr + offs, tl.rand(seed, base + offs))


@triton.jit
def chain_kernel(seed, pos, token0, seed_out_ptr, out_ptr, N: tl.constexpr):
    # Model Runner V2's two-level draw: a per-position seed, then one uniform per token id.
    gumbel_seed = tl.randint(seed, pos)
    offs = tl.arange(0, N)
    tl.store(seed_out_ptr + offs * 0, gumbel_seed)
    tl.store(out_ptr + offs, tl.rand(gumbel_seed, token0 + offs))


N = 8
SEEDS = [0, 1, 12345, 0xFFFFFFFF, (1 << 32) + 7, 0x7EADBEEFCAFEF00D, -0x2152411035010FF3]  # last: int64 < 0
BASES = [0, 1000, 31992, 128248, 151928, 262136, 0x7FFFFFF0, (1 << 32) + 3, (1 << 40) + 11]
CHAINS = [(0, 0, 0), (42, 17, 31992), (2**63 - 25, 4095, 151928), (-7, 131071, 262136), (987654321, 9, 128248)]


_KEEP = []  # every array stays alive: the interpreter misreads outputs whose memory was reused


def _out(dtype):
    t = NpTensor(np.zeros(N, dtype=dtype))
    _KEEP.append(t)
    return t


def _uniform(words):
    # uint_to_uniform_float as random.py writes it, in numpy: a cross-check of the kernel's rand.
    x = words.view(np.int32)
    x = np.where(x < 0, ~x, x)
    return (x.astype(np.float32) * np.float32(4.6566127342e-10)).astype(np.float32)


def h64(v):
    return "%016x" % (v & (2**64 - 1))


def main():
    print("# Triton %s tl.randint / tl.rand golden values from Triton's interpreter (gen_triton_random_golden.py)" %
          triton.__version__)
    print("# randint seed64 base64 n word32... | rand seed64 base64 n float32bits... (offsets base .. base+n-1)")
    print("# chain seed64 pos64 token0 n gumbel_seed32 float32bits...: u = rand(randint(seed, pos), token0 + i)")
    for seed in SEEDS:
        for base in BASES:
            words = _out(np.uint32)
            randint_kernel[(1,)](seed, base, words, N=N)
            u = _out(np.float32)
            rand_kernel[(1,)](seed, base, u, N=N)
            assert np.array_equal(u.arr.view(np.uint32), _uniform(words.arr).view(np.uint32)), (seed, base)
            print("randint", h64(seed), h64(base), N, " ".join("%08x" % w for w in words.arr))
            print("rand", h64(seed), h64(base), N, " ".join("%08x" % w for w in u.arr.view(np.uint32)))
    for seed, pos, token0 in CHAINS:
        gs, u = _out(np.uint32), _out(np.float32)
        chain_kernel[(1,)](seed, pos, token0, gs, u, N=N)
        again = _out(np.float32)
        rand_kernel[(1,)](int(gs.arr[0]), token0, again, N=N)
        assert np.array_equal(u.arr.view(np.uint32), again.arr.view(np.uint32)), (seed, pos)
        print("chain", h64(seed), h64(pos), "%x" % token0, N, "%08x" % gs.arr[0],
              " ".join("%08x" % w for w in u.arr.view(np.uint32)))


if __name__ == "__main__":
    main()
