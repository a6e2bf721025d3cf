"""vLLM Model Runner V2's Murmur3 Gumbel noise (vllm#51367: gumbel.py's murmur3_hash32,
murmur3_uniform32/64 and _log1p_neg_stable) as Triton functions, written from vLLM's description
operation for operation; shared by the interpreter golden (gen_vllm_murmur3_golden.py), the GPU
capture (capture_triton_mrv2_rows.py) and the PTX check (check_triton_lowering.py)."""
import triton
import triton.language as tl


@triton.jit
def rotl32(value, shift: tl.constexpr):
    return (value << shift) | (value >> (32 - shift))


@triton.jit
def mix(h, key):
    key *= 0xCC9E2D51
    key = rotl32(key, 15)
    key *= 0x1B873593
    h ^= key
    h = rotl32(h, 13)
    return h * 5 + 0xE6546B64


@triton.jit
def fmix32(h):
    h ^= h >> 16
    h *= 0x85EBCA6B
    h ^= h >> 13
    h *= 0xC2B2AE35
    return h ^ (h >> 16)


@triton.jit
def hash32(seed, pos, offset, domain: tl.constexpr = 0):
    # MurmurHash3_x86_32 of [seed lo, seed hi, pos lo, offset] with hash seed `domain`.
    seed = seed.to(tl.int64)
    pos = pos.to(tl.int64)
    offset = offset.to(tl.uint32)
    h = (seed ^ seed).to(tl.uint32)
    h ^= domain
    h = mix(h, (seed & 0xFFFFFFFF).to(tl.uint32))
    h = mix(h, ((seed >> 32) & 0xFFFFFFFF).to(tl.uint32))
    h = mix(h, (pos & 0xFFFFFFFF).to(tl.uint32))
    h = mix(h, offset)
    return fmix32(h ^ 16)


@triton.jit
def uniform32(random32):
    hi16 = (random32 >> 16).to(tl.int32)
    lo16 = (random32 & 0xFFFF).to(tl.int32)
    return hi16.to(tl.float32) * 1.52587890625e-05 + (lo16.to(tl.float32) + 0.5) * 2.3283064365386963e-10


@triton.jit
def uniform64(lo, hi):
    random53 = ((hi.to(tl.uint64) << 32) | lo.to(tl.uint64)) >> 11
    u = (random53.to(tl.float64) + 0.5) * 1.1102230246251565e-16
    return tl.where(u == 1.0, u - 1.1102230246251565e-16, u)


@triton.jit
def log1m(u):
    # log(1 - u): the degree-8 series below 0.25 (one fma per step under FP fusion), logf above.
    p = 1.0 / 8.0
    p = 1.0 / 7.0 + u * p
    p = 1.0 / 6.0 + u * p
    p = 1.0 / 5.0 + u * p
    p = 1.0 / 4.0 + u * p
    p = 1.0 / 3.0 + u * p
    p = 1.0 / 2.0 + u * p
    p = 1.0 + u * p
    series = -u * p
    direct = tl.log(tl.maximum(1.0 - u, 5.960464477539063e-08))
    return tl.where(u < 0.25, series, direct)


@triton.jit
def gumbel32(seed, pos, token):
    return -tl.log(-log1m(uniform32(hash32(seed, pos, token))))


@triton.jit
def gumbel64(seed, pos, token):
    u = uniform64(hash32(seed, pos, token), hash32(seed, pos, token, domain=0x9E3779B9))
    return -tl.log(-tl.log(u))
