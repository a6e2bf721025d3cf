#!/usr/bin/python3
"""Which message statistic should the alarm use? (docs/audit.md "Why this statistic"). Reads the
results.h5 of audits run with --fraction 1 and a fine grid: one of honest bf16-served traffic,
one per adversary (fssl simulate --adversary ... --adversary-fraction 1). Calibrates each
candidate on the first half of the honest messages at a 1 % message FPR, then prints its FPR on the
second half and, per adversary, the share of messages flagged and the ROC AUC against the held-out
honest half.

    /usr/bin/python3 tools/alarm_statistics.py HONEST_RUN ADV_RUN... [--delta 0.5 --rank 8 --sigma 0.1]

The commands that made the table in docs/audit.md are in its "Why this statistic" section.
"""
import argparse
import os

import h5py
import numpy as np


def load(run):
    with h5py.File(os.path.join(run, "results.h5"), "r") as f:
        sigmas = list(f.attrs["sigmas"])
        off, n = f["messages/token_offset"][:], f["messages/output_tokens"][:]
        margin, rank, ll = f["tokens/margin"][:], f["tokens/logit_rank"][:], f["tokens/likelihood"][:]
    return [(margin[o:o + k], rank[o:o + k], ll[o:o + k, :]) for o, k in zip(off, n) if k > 0], sigmas


def auc(neg, pos):
    neg = np.sort(neg)
    lo = np.searchsorted(neg, pos, side="left")
    hi = np.searchsorted(neg, pos, side="right")
    return float(np.mean((lo + 0.5 * (hi - lo)) / len(neg)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("honest")
    ap.add_argument("adversaries", nargs="+")
    ap.add_argument("--delta", type=float, default=0.5, help="token margin threshold of the tiers")
    ap.add_argument("--rank", type=int, default=8, help="rank cutoff R")
    ap.add_argument("--sigma", type=float, default=0.1, help="GM-LS sigma of the likelihood sum")
    ap.add_argument("--target", type=float, default=0.01, help="message FPR to calibrate each statistic at")
    a = ap.parse_args()
    honest, sigmas = load(a.honest)
    j = sigmas.index(a.sigma)
    half = len(honest) // 2
    cal, test = honest[:half], honest[half:]
    stats = {
        "dangerous tokens": lambda m, r, l: np.sum((m > a.delta) & (r > a.rank)),
        "non-safe tokens": lambda m, r, l: np.sum(m > a.delta),
        "largest margin": lambda m, r, l: m.max(),
        "sum of margins": lambda m, r, l: m.astype(np.float64).sum(),
        "sum of GM-LS": lambda m, r, l: -np.sum(l[:, j] - np.log(0.5)),
    }
    adversaries = {os.path.basename(os.path.normpath(r)): load(r)[0] for r in a.adversaries}
    print("%-17s %8s %8s | %s" % ("statistic", "cal FPR", "test FPR",
                                  " | ".join("%-20s" % name for name in adversaries)))
    for name, fn in stats.items():
        c = np.array([fn(*x) for x in cal], dtype=np.float64)
        t = np.array([fn(*x) for x in test], dtype=np.float64)
        threshold = np.quantile(c, 1 - a.target, method="higher")
        cells = []
        for msgs in adversaries.values():
            v = np.array([fn(*x) for x in msgs], dtype=np.float64)
            cells.append("%5.1f%% AUC %.3f" % (100 * np.mean(v > threshold), auc(t, v)))
        print("%-17s %7.2f%% %7.2f%% | %s" % (name, 100 * np.mean(c > threshold), 100 * np.mean(t > threshold),
                                              " | ".join("%-20s" % x for x in cells)))


if __name__ == "__main__":
    main()
