"""Golden values for fssl's fssl-philox profile, from the pure-Python reference
(contrib/fssl_philox/fssl_philox.py), each E and G re-checked against exact decimal arithmetic.

    python3 gen_fssl_philox_golden.py > fssl_philox_golden.txt

Checks before writing (any failure aborts): every hard-case table entry is the correctly rounded
value and really lies within 2^-50 of a float32 rounding boundary (decimal ln at 120 digits, an
arithmetic independent of the libquadmath search that produced the table); every E and G written
below equals the correctly rounded float32 of the exact -ln u / -ln E.
"""

import decimal
import math
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "contrib",
                                "fssl_philox"))
import fssl_philox as fp  # noqa: E402

CTX = decimal.Context(prec=120)
HARD = 2.0 ** -50


def bits(x):
    return fp.float32_bits(x)


def neighbours32(f):
    b = bits(f)
    up, down = (b + 1, b - 1) if f > 0 else (b - 1, b + 1)
    return fp.bits_float32(down), fp.bits_float32(up)


def rn32_exact(d):
    """Correctly rounded float32 of the Decimal d, and d's relative distance to the nearest boundary."""
    if d == 0:  # only G for E = 1: the spec's G = -(+0) = -0.0, the negation every log gives
        return -0.0, 1.0
    f = fp.to_float32(float(d))
    for _ in range(2):  # float(d) is within one float32 step; settle by exact midpoint comparison
        lo, hi = neighbours32(f)
        m_lo = CTX.divide(CTX.add(decimal.Decimal(f), decimal.Decimal(lo)), 2)
        m_hi = CTX.divide(CTX.add(decimal.Decimal(f), decimal.Decimal(hi)), 2)
        if d < m_lo:
            f = lo
        elif d > m_hi:
            f = hi
        else:
            dist = min(abs(d - m_lo), abs(d - m_hi)) / abs(d)
            return f, float(dist)
    raise AssertionError("rounding did not settle for %s" % d)


def exact_e(x):
    u = CTX.multiply(CTX.add(decimal.Decimal(x), decimal.Decimal("0.5")), decimal.Decimal(2) ** -32)
    return rn32_exact(-u.ln(CTX))


def exact_g(e):
    return rn32_exact(-decimal.Decimal(e).ln(CTX))


def check_e(x, e):
    want, _ = exact_e(x)
    assert bits(e) == bits(want), "E(0x%08x): %08x != exact %08x" % (x, bits(e), bits(want))


def check_g(e, g):
    want, _ = exact_g(e)
    assert bits(g) == bits(want), "G(%08x): %08x != exact %08x" % (bits(e), bits(g), bits(want))


def main():
    out = ["# fssl-philox v1 golden values from contrib/fssl_philox/fssl_philox.py (gen_fssl_philox_golden.py)",
           "# hardE word Ebits | hardG Ebits Gbits | word x Ebits Gbits",
           "# row seed row token_begin n Ebits... | grow seed row token_begin n Gbits...",
           "# sample seed row T_bits expected_token n logit_bits...   (all numbers hex except n, expected)"]
    for x, b in sorted(fp.HARD_E.items()):
        e, dist = exact_e(x)
        assert bits(e) == b and dist < HARD, "hard E 0x%08x: exact %08x, distance %g" % (x, bits(e), dist)
        out.append("hardE %08x %08x" % (x, b))
    for eb, gb in sorted(fp.HARD_G.items()):
        g, dist = exact_g(fp.bits_float32(eb))
        assert bits(g) == gb and dist < HARD, "hard G %08x: exact %08x, distance %g" % (eb, bits(g), dist)
        out.append("hardG %08x %08x" % (eb, gb))

    rng = random.Random(1)
    words = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF] + [rng.getrandbits(32) for _ in range(400)]
    words.append(next(x for x in range(0x5E2D58D8 - 64, 0x5E2D58D8 + 64) if fp.exp1_from_word(x) == 1.0))  # G = -0
    for x in words:
        e = fp.exp1_from_word(x)
        g = fp.gumbel_from_exp1(e)
        check_e(x, e)
        check_g(e, g)
        out.append("word %08x %08x %08x" % (x, bits(e), bits(g)))

    rows = [(0, 0, 0, 16), (42, 0, 0, 16), (42, 1, 0, 16), (42, 7, 50001, 13),
            (2**64 - 1, 2**32 + 5, 128240, 16), (0x123456789ABCDEF0, 3, 2**33 + 2, 8), (42, 2**31, 4, 4)]
    for seed, row, begin, n in rows:
        es = fp.exp1_row(seed, row, begin, n)
        gs = fp.gumbel_row(seed, row, begin, n)
        for i, (e, g) in enumerate(zip(es, gs)):
            block = fp.noise_block(seed, row, begin + i)
            check_e(block[(begin + i) & 3], e)
            check_g(e, g)
        out.append("row %x %x %x %d %s" % (seed, row, begin, n, " ".join("%08x" % bits(e) for e in es)))
        out.append("grow %x %x %x %d %s" % (seed, row, begin, n, " ".join("%08x" % bits(g) for g in gs)))

    srng = random.Random(7)
    for seed, row, temperature, n, mode in [(42, 0, 1.0, 64, "plain"), (42, 1, 1.0, 64, "plain"),
                                            (42, 2, 0.7, 64, "filtered"), (7, 5, 0.3, 64, "filtered"),
                                            (7, 6, 2.0, 64, "ties"), (9, 0, 0.0, 64, "ties"),
                                            (9, 1, 0.0, 8, "ties"), (11, 3, 1.5, 16, "one")]:
        logits = [fp.to_float32(srng.gauss(0.0, 3.0)) for _ in range(n)]
        if mode == "filtered":
            logits = [l if srng.random() < 0.3 else -math.inf for l in logits]
        elif mode == "ties":
            logits = [fp.to_float32(round(l)) for l in logits]  # many equal logits
        elif mode == "one":
            logits = [-math.inf] * n
            logits[n // 2] = 1.0
        t = fp.to_float32(temperature)
        token = fp.sample_row(logits, t, seed, row)
        out.append("sample %x %x %08x %d %d %s" % (seed, row, bits(t), token, n,
                                                   " ".join("%08x" % struct.unpack("<I", struct.pack("<f", l))[0]
                                                            for l in logits)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
