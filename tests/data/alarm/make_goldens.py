#!/usr/bin/python3
"""Independent values for tests/alarm_test.cpp: binomial tails summed exactly in rational
arithmetic (fractions + math.comb), bounds by bisection on them. No Boost, no fssl.

    /usr/bin/python3 tests/data/alarm/make_goldens.py
"""
from fractions import Fraction
from math import comb


def tail_at_least(n, p, k):  # P[Binomial(n, p) >= k], exact
    p = Fraction(p)
    return sum(comb(n, j) * p**j * (1 - p)**(n - j) for j in range(k, n + 1))


def quantile(n, p, alpha):  # min q with P[X > q] <= alpha
    for q in range(n + 1):
        if tail_at_least(n, p, q + 1) <= Fraction(alpha):
            return q


def cp_upper(k, n, conf):  # one-sided: the p with P[X <= k] = 1 - conf
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if 1 - tail_at_least(n, mid, k + 1) > 1 - conf:
            lo = mid
        else:
            hi = mid
    return hi


def power(n, p0, d, share, alpha):
    q = quantile(n, p0, alpha)
    return float(tail_at_least(n, Fraction(share) * Fraction(d) + (1 - Fraction(share)) * Fraction(p0), q + 1))


print("quantile(200, 0.01, 0.01) =", quantile(200, "0.01", "0.01"))
print("quantile(200, 0.005, 0.01) =", quantile(200, "0.005", "0.01"))
print("quantile(1000, 0.002, 0.005) =", quantile(1000, "0.002", "0.005"))
print("quantile(50, 0, 0.01) =", quantile(50, 0, "0.01"))
print("cp_upper(0, 300, 0.95) = %.12g" % cp_upper(0, 300, 0.95))
print("cp_upper(2, 600, 0.95) = %.12g" % cp_upper(2, 600, 0.95))
print("cp_upper(3, 1000, 0.95) = %.12g" % cp_upper(3, 1000, 0.95))
print("cp_upper(4, 1000, 0.95) = %.12g" % cp_upper(4, 1000, 0.95))
print("cp_upper(5, 1000, 0.95) = %.12g" % cp_upper(5, 1000, 0.95))
print("power(400, 0.005, 0.9, 0.05, 0.01) = %.12g" % power(400, "0.005", "0.9", "0.05", "0.01"))
print("power(200, 0.01, 1, 0.02, 0.01) = %.12g" % power(200, "0.01", "1", "0.02", "0.01"))
