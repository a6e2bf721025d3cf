"""fssl-philox v1 reference: stateless counter-based Gumbel-max sampler noise in pure Python.

E(seed, row, token) ~ Exp(1) and G = -ln E ~ Gumbel(0, 1) as float32 values, bit-identical to
fssl_philox.h and to any implementation that follows docs/sampler-spec.md ("fssl-philox").
No dependencies beyond the standard library (struct, math). Python floats hold the float32 values
exactly; float32 rounding is done with struct (round to nearest even).

Usage: exp1_row(42, 0, 0, 4) gives E for tokens 0..3 of row 0 under seed 42;
sample_row(logits, 0.7, 42, 5) gives the token a server emits at output position 5.
"""

import math
import struct

DOMAIN_TAG = 0x46534E31  # counter word 3: ASCII "FSN1" read big-endian
_MASK32 = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    """Philox4x32-10 (Random123 philox4x32, R = 10): 4 counter words, 2 key words -> 4 words."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for rnd in range(10):
        if rnd:
            k0 = (k0 + 0x9E3779B9) & _MASK32
            k1 = (k1 + 0xBB67AE85) & _MASK32
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & _MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & _MASK32)
    return (c0, c1, c2, c3)


def noise_block(seed, row, token):
    """The 4 words of the block holding `token` of noise row `row`; token t uses word t % 4."""
    if not (0 <= seed < 2**64 and 0 <= row < 2**64 and 0 <= token < 2**34):
        raise ValueError("fssl-philox: seed and row must be uint64, token in [0, 2^34)")
    ctr = ((token >> 2) & _MASK32, row & _MASK32, (row >> 32) & _MASK32, DOMAIN_TAG)
    return philox4x32_10(ctr, (seed & _MASK32, (seed >> 32) & _MASK32))


def to_float32(value):
    """Round a Python float (binary64) to the nearest float32, ties to even."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def float32_bits(value):
    return struct.unpack("<I", struct.pack("<f", value))[0]


def bits_float32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


# Inputs whose exact result lies within 2^-50 (relative) of a float32 rounding boundary
# (exhaustive search, tests/data/noise/fssl_philox_hard_cases.cpp); word x -> float32 bits of E,
# and float32 bits of E -> float32 bits of G. Elsewhere math.log rounded once is exact.
HARD_E = dict([
    (0x0264e435, 0x40958265),
    (0x03275f04, 0x408cb0b6),
    (0x035ee6be, 0x408a8fcf),
    (0x03f0f814, 0x40858eb5),
    (0x06e3c64e, 0x40675e83),
    (0x0814e15f, 0x405d286c),
    (0x0dc96029, 0x403af981),
    (0x120128a5, 0x4029e438),
    (0x15ee3117, 0x401d4470),
    (0x1a332a78, 0x4011e212),
    (0x1e333e40, 0x4008ca03),
    (0x229f33a9, 0x40000b55),
    (0x268c86fe, 0x3ff255fb),
    (0x27f61610, 0x3fedbae9),
    (0x2a2b7242, 0x3fe6d847),
    (0x2bf4468a, 0x3fe18a2d),
    (0x311a7e5a, 0x3fd35c12),
    (0x34307892, 0x3fcb8eec),
    (0x36bc64b0, 0x3fc575cd),
    (0x37804d74, 0x3fc3aed7),
    (0x38988945, 0x3fc12ed6),
    (0x3a8670dc, 0x3fbce46a),
    (0x3bf69ec6, 0x3fb9c8e9),
    (0x3d6c99a8, 0x3fb6b42b),
    (0x3ef8972e, 0x3fb38531),
    (0x43909492, 0x3faa81f3),
    (0x4852fdec, 0x3fa1cb5f),
    (0x4aa7d58b, 0x3f9dbbbd),
    (0x4e770d80, 0x3f975cf4),
    (0x4ea3176a, 0x3f971530),
    (0x52bd99b1, 0x3f90925e),
    (0x5550545e, 0x3f8ca6d6),
    (0x565dfaa5, 0x3f8b14bf),
    (0x59adc582, 0x3f8643c4),
    (0x5ace61e1, 0x3f84aa65),
    (0x5f566d9b, 0x3f7cdd62),
    (0x5fb71b21, 0x3f7bda4c),
    (0x60d6069a, 0x3f78df5c),
    (0x61434ef7, 0x3f77bf18),
    (0x68b0641f, 0x3f64e92f),
    (0x6aecc936, 0x3f5f803a),
    (0x6c444604, 0x3f5c4ef6),
    (0x6dcba8fe, 0x3f58b7fd),
    (0x6dd1a894, 0x3f58aa02),
    (0x7370ea60, 0x3f4be200),
    (0x75373a42, 0x3f47fa31),
    (0x76be8716, 0x3f44a91c),
    (0x76fb5507, 0x3f442627),
    (0x8368ca92, 0x3f2ab75b),
    (0x8a59cf8e, 0x3f1d89db),
    (0x8ff6b072, 0x3f135b9f),
    (0x918f16f7, 0x3f108962),
    (0x922c4df5, 0x3f0f7578),
    (0xa46fc083, 0x3ee2a363),
    (0xa8dca477, 0x3ed50a94),
    (0xa9759cc9, 0x3ed33b94),
    (0xae2b96b5, 0x3ec5319b),
    (0xb0454c41, 0x3ebf0e61),
    (0xb2d7fc9f, 0x3eb7a2f8),
    (0xb51437d6, 0x3eb146ea),
    (0xb677a439, 0x3ead5dca),
    (0xb8b454f3, 0x3ea7209b),
    (0xc00fa1e6, 0x3e932162),
    (0xc369dd45, 0x3e8a453b),
    (0xc64da6d4, 0x3e82c11f),
    (0xc6e6c6b9, 0x3e81365c),
    (0xcb537dc9, 0x3e6be51b),
    (0xcbe902fe, 0x3e68f52a),
    (0xcee21e47, 0x3e5a22a0),
    (0xcfa64a3a, 0x3e56596f),
    (0xd059e919, 0x3e52e526),
    (0xd10411b7, 0x3e4fa230),
    (0xd4222eca, 0x3e4078fd),
    (0xdb2dc55c, 0x3e1f043f),
    (0xde1e7e17, 0x3e115eed),
    (0xde3cb8ca, 0x3e10d39a),
    (0xdf2ac200, 0x3e0c8d18),
    (0xe0df8896, 0x3e04c092),
    (0xe542d46f, 0x3de1ed6b),
    (0xef6d47b4, 0x3d891247),
    (0xf60bcb41, 0x3d22711c),
    (0xf73a21c5, 0x3d0ed40a),
    (0xfe1d3984, 0x3bf247f9),
])
HARD_G = dict([
    (0x3bf86ef0, 0x409c399e),
    (0x3c413d3a, 0x408e158f),
    (0x3e2b3421, 0x3fe4f170),
])


def uniform_from_word(x):
    """u = (x + 1/2) * 2^-32 in (0, 1), exact in binary64."""
    return (x + 0.5) * 2.0 ** -32


def exp1_from_word(x):
    """E = RN32(-ln u(x))."""
    if x in HARD_E:
        return bits_float32(HARD_E[x])
    return to_float32(-math.log(uniform_from_word(x)))


def gumbel_from_exp1(e):
    """G = RN32(-ln E) for a float32 E."""
    bits = float32_bits(e)
    if bits in HARD_G:
        return bits_float32(HARD_G[bits])
    return to_float32(-math.log(e))


def exp1_row(seed, row, token_begin, n_tokens):
    """[E(seed, row, token_begin + c) for c in range(n_tokens)]."""
    out = []
    block_index, block = None, None
    for token in range(token_begin, token_begin + n_tokens):
        if token >> 2 != block_index:
            block_index = token >> 2
            block = noise_block(seed, row, token)
        out.append(exp1_from_word(block[token & 3]))
    return out


def gumbel_row(seed, row, token_begin, n_tokens):
    return [gumbel_from_exp1(e) for e in exp1_row(seed, row, token_begin, n_tokens)]


def sample_row(logits, temperature, seed, row):
    """The emitted token: argmax over finite logits of RN32(l + RN32(T * G)), ties to the smallest
    id; T == 0 is greedy (first maximal logit, no noise). Logits must be float32 values; filtered
    tokens are -inf. Returns -1 if no token is kept.

    Each binary64 sum or product of float32 operands rounded to float32 is the correctly rounded
    float32 result (53 >= 2 * 24 + 2), so this matches float32 hardware without fused multiply-add.
    """
    best, best_z = -1, 0.0
    gumbel = gumbel_row(seed, row, 0, len(logits)) if temperature > 0 else None
    for i, logit in enumerate(logits):
        if not math.isfinite(logit):
            continue
        z = logit
        if gumbel is not None:
            z = to_float32(logit + to_float32(temperature * gumbel[i]))
        if best < 0 or z > best_z:
            best, best_z = i, z
    return best


if __name__ == "__main__":
    print(" ".join("%08x" % float32_bits(e) for e in exp1_row(42, 0, 0, 8)))
